"""Checks for the visualizing and pretrained-model notebooks (20-29)."""

from __future__ import annotations

from tests.notebooks.expectations import expect, verdicts


@expect("20_visualize_netron")
def _visualize_netron(results, records):
    assert results["plain_server_stopped"] is True, "netron.stop(address) closed the plain server"
    assert results["reused_server"] is True and results["two_ports"] == [True]
    assert results["servers_left"] == 0, "quick mode stops every Netron server it started"
    assert results["opset_torchscript"] == 17 and results["opset_dynamo"] == 18  # the notebook pins 18
    assert {"kernel_shape", "pads", "strides"} <= set(results["conv_attributes"]), results["conv_attributes"]
    quantize, dequantize = results["qdq_pairs"]
    assert quantize >= 4 and dequantize >= quantize
    assert results["qdq_label_agreement"] >= 0.97
    pictures = results["pictures"]
    for picture in pictures:  # a PNG was drawn, or the notebook said why not
        assert bool(picture["png"]) != bool(picture["reason"]), picture
    # the live view's static fallback is the PNG whenever the browser drew one
    assert results["view_fallback"] == ("png" if pictures[0]["png"] else "text"), results["view_fallback"]
    assert verdicts(records) == {
        "digits CNN (torchscript exporter)": "pass",
        "digits CNN (dynamo exporter)": "pass",
        "digits CNN int8 QDQ": "pass",
    }


@expect("21_pretrained_models")
def _pretrained_models(results, records):
    assert results["onnx_hub_present"] is False
    assert results["dummy_inputs_match_runner"] is True
    assert results["fetch_cached_and_mismatch_refused"] is True
    assert len(results["zoo_passed"]) >= 4, results["zoo_passed"]
    zoo = {m: v for m, v in verdicts(records).items() if m.endswith("(light)")}
    assert len(zoo) >= 4 and set(zoo.values()) == {"pass"}, zoo
    assert all(r["framework"] == "onnx model zoo (light)" for r in records if r["model"].endswith("(light)"))
    assert len(results["zoo_timings_ms"]) >= 4 and all(t > 0 for t in results["zoo_timings_ms"].values())
    assert results["reference_evaluator_softmax_opset9_disagrees"] is True
    sim = results["similarity"]
    paraphrase, unrelated = sim["Someone is strumming an acoustic guitar."], sim["The stock market fell sharply today."]
    assert paraphrase == max(sim.values()) and paraphrase > unrelated + 0.3, sim
    if results["minilm_onnx_checked"]:  # full mode: the ONNX encoder matched PyTorch
        assert verdicts(records)["all-MiniLM-L6-v2 (pretrained)"] == "pass"
