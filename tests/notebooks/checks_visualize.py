"""Checks for the visualizing and pretrained-model notebooks (20-29)."""

from __future__ import annotations

from tests.notebooks.expectations import expect, verdicts


@expect("20_visualize_netron")
def _visualize_netron(results, records):
    assert results["reused_server"] is True and results["two_ports"] == [True]
    assert results["servers_left"] == 0, "quick mode stops every Netron server it started"
    assert results["opset_torchscript"] == 17 and results["opset_dynamo"] >= 18
    quantize, dequantize = results["qdq_pairs"]
    assert quantize >= 4 and dequantize >= quantize
    assert results["qdq_label_agreement"] >= 0.97
    for picture in results["pictures"]:  # a PNG was drawn, or the notebook said why not
        assert picture["png"] or picture["reason"], picture
    assert verdicts(records) == {
        "digits CNN (torchscript exporter)": "pass",
        "digits CNN (dynamo exporter)": "pass",
        "digits CNN int8 QDQ": "pass",
    }
