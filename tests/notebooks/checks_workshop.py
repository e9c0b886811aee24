"""Checks for the workshop notebooks: the capstone's reference solution passes every exercise check."""

from __future__ import annotations

from tests.notebooks.expectations import expect


@expect("50_capstone")
def _capstone(results, records):
    assert results["exercises"] == {f"50.{i}": True for i in range(1, 9)}, results["exercises"]
    assert results["accuracy"] >= 0.85 and results["parity"] == "pass"
    assert len(results["curl_labels"]) == 2 and set(results["curl_labels"]) <= {"class_0", "class_1", "class_2"}
    (row,) = [r for r in records if r["model"] == f"capstone wine classifier ({results['framework']})"]
    assert row["verdict"] == "pass" and row["label_agreement"] == 1.0
