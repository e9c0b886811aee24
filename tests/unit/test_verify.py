"""helpers.verify must pass faithful conversions and flag every kind of mismatch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import report, verify
from tests.unit.models import linear_model, linear_reference
from workbook import reports

X = np.random.RandomState(0).rand(16, 4).astype(np.float32)


def test_faithful_conversion_passes_with_full_label_agreement(tmp_build):
    result = verify.check_conversion(
        linear_model(), X, linear_reference(X), name="linear", framework="numpy", converter="onnx",
        classification=True,
    )
    assert result.passed and result.verdict == "pass"
    assert result.label_agreement == 1.0
    assert result.max_abs_err < 1e-5
    assert "linear: pass on 16 samples" in str(result)


def test_wrong_weights_are_flagged_as_fail_with_the_error_size(tmp_build):
    wrong = np.arange(12, dtype=np.float32).reshape(4, 3) / 10 + 0.01
    result = verify.check_conversion(
        linear_model(wrong), X, linear_reference(X), name="linear", framework="numpy", converter="onnx",
        classification=True,
    )
    assert not result.passed
    assert result.verdict == "fail"
    assert result.max_abs_err > 1e-3
    assert "outside tolerance: scores" in str(result)
    with pytest.raises(AssertionError, match="Parity check failed: linear: fail"):
        result.assert_passed()


def test_flipped_labels_fail_even_when_scores_are_close():
    scores = np.array([[0.5, 0.5000001], [1.0, 0.0]], dtype=np.float32)
    result = verify.compare_outputs(
        {"scores": scores, "label": np.array([1, 0])},
        {"scores": scores, "label": np.array([0, 0])},
        classification=True, name="tie",
    )
    assert result.label_agreement == 0.5
    assert not result.passed


def test_label_agreement_threshold_allows_a_stated_share_of_flips():
    labels = np.arange(100) % 3
    flipped = labels.copy()
    flipped[:2] = (flipped[:2] + 1) % 3
    result = verify.compare_outputs([labels], [flipped], classification=True, min_label_agreement=0.97)
    assert result.label_agreement == pytest.approx(0.98)
    assert result.passed


@pytest.mark.parametrize(
    ("expected", "actual", "message"),
    [
        ({"y": np.zeros((4, 3))}, {"y": np.zeros((4, 2))}, r"Output 'y': the framework gave shape \(4, 3\), ONNX Runtime gave \(4, 2\)"),
        ({"y": np.zeros(3)}, {"z": np.zeros(3)}, r"ONNX Runtime gave no output named \['y'\]; it gave \['z'\]"),
        ([np.zeros(3), np.zeros(3)], [np.zeros(3)], r"ONNX Runtime gave no output named \['b'\]; it gave \['a'\]"),
        ({"y": np.zeros(3)}, {"y": np.array(["a", "b", "c"])}, r"Output 'y': cannot compare numbers"),
    ],
    ids=["shape", "missing-output", "count", "dtype"],
)
def test_incomparable_outputs_raise_an_error_saying_what_was_expected(expected, actual, message):
    names = ["a", "b"] if isinstance(expected, list) else None
    with pytest.raises(verify.ParityError, match=message):
        verify.compare_outputs(expected, actual, names=names)


def test_nan_in_only_one_side_fails_and_nan_in_both_passes():
    a = np.array([1.0, np.nan, 3.0])
    assert not verify.compare_outputs([a], [np.array([1.0, 2.0, 3.0])]).passed
    assert verify.compare_outputs([a], [a.copy()]).passed


def test_zipmap_outputs_are_compared_as_probability_arrays():
    probs = np.array([[0.2, 0.8], [0.6, 0.4]])
    zipmap = [{0: 0.2, 1: 0.8}, {0: 0.6, 1: 0.4}]
    assert verify.compare_outputs({"p": probs}, {"p": zipmap}).passed


def test_check_conversion_appends_a_record_to_the_parity_report(tmp_build):
    verify.check_conversion(linear_model(), X, linear_reference(X), name="linear", framework="numpy",
                            converter="onnx", classification=True)
    records = reports.parity_records()
    assert len(records) == 1
    rec = records[0]
    assert rec["model"] == "linear" and rec["verdict"] == "pass" and rec["opset"] == 17
    assert rec["framework_version"] == np.__version__
    md, js = reports.write_parity_report()
    assert "| linear |" in md.read_text() and "1 of 1 conversions pass" in md.read_text()
    assert json.loads(js.read_text())["records"][0]["model"] == "linear"


def test_run_onnx_names_the_model_inputs_when_given_the_wrong_ones():
    with pytest.raises(verify.ParityError, match=r"no input named \['image'\]; its inputs are \['x'\]"):
        verify.run_onnx(linear_model(), {"image": X})


def test_run_onnx_on_a_missing_file_says_to_export_first(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the export step first"):
        verify.run_onnx(tmp_path / "nope.onnx", X)


def test_a_comparison_of_nothing_fails_instead_of_passing():
    with pytest.raises(verify.ParityError, match="Nothing to compare"):
        verify.compare_outputs({}, {})
    with pytest.raises(verify.ParityError, match="Nothing to compare"):
        verify.compare_outputs([], [np.zeros(3)])


def test_check_conversion_with_no_expected_outputs_fails(tmp_build):
    for expected in ([], {}):
        with pytest.raises(verify.ParityError, match="Nothing to compare"):
            verify.check_conversion(linear_model(), X, expected, name="linear", framework="numpy", converter="onnx")
    assert reports.parity_records() == [], "a refused check records nothing"


@pytest.mark.parametrize(
    ("given", "name"),
    [("torch", "PyTorch"), ("PyTorch", "PyTorch"), ("pytorch", "PyTorch"), ("tensorflow", "TensorFlow"),
     ("TensorFlow", "TensorFlow"), ("tf", "TensorFlow"), ("keras", "Keras"), ("Keras", "Keras"),
     ("sklearn", "scikit-learn"), ("chainer", "chainer")],
)
def test_the_parity_report_names_each_framework_one_way(tmp_build, given, name):
    result = verify.check_conversion(linear_model(), X, linear_reference(X), name="linear", framework=given,
                                     converter="onnx")
    assert result.meta["framework"] == name
    assert [r["framework"] for r in reports.parity_records()] == [name]


def test_a_parity_record_without_a_framework_is_refused(tmp_build):
    result = verify.compare_outputs([np.zeros(3)], [np.zeros(3)], name="bare")
    with pytest.raises(verify.ParityError, match="needs the source framework"):
        verify.record_parity(result)
    with pytest.raises(verify.ParityError, match="needs the source framework"):
        verify.check_conversion(linear_model(), X, linear_reference(X), name="linear", framework=" ", converter="onnx")
    assert reports.parity_records() == []
    verify.record_parity(result, framework="torch", converter="onnx")
    assert reports.parity_records()[0]["framework"] == "PyTorch"


def test_old_records_with_other_spellings_are_reported_under_one_name(tmp_build):
    path = tmp_build / "reports" / verify.PARITY_FILE
    for i, spelling in enumerate(["torch", "PyTorch"]):
        report_record = {"notebook": "10", "model": f"m{i}", "converter": "c", "framework": spelling}
        report.append_jsonl(path, report_record)
    assert {r["framework"] for r in reports.parity_records()} == {"PyTorch"}


def test_clearing_a_notebooks_parity_records_keeps_the_others(tmp_build, monkeypatch):
    for notebook in ("10_export", "11_export", "10_export"):
        monkeypatch.setenv(verify.NOTEBOOK_ENV, notebook)
        verify.check_conversion(linear_model(), X, linear_reference(X), name=f"m-{len(reports.parity_records(latest_only=False))}",
                                framework="numpy", converter="onnx")
    assert reports.clear_parity_records("10_export") == 2
    assert [r["notebook"] for r in reports.parity_records(latest_only=False)] == ["11_export"]
    assert reports.clear_parity_records("10_export") == 0
