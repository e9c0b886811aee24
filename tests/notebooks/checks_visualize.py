"""Checks for the visualizing and pretrained-model notebooks (20-29)."""

from __future__ import annotations

from tests.notebooks.expectations import expect, verdicts


@expect("20_visualize_netron")
def _visualize_netron(results, records):
    assert results["plain_server_stopped"] is True, "netron.stop(address) closed the plain server"
    assert results["reused_server"] is True and results["two_ports"] == [True]
    assert results["servers_left"] == 0, "quick mode stops every Netron server it started"
    assert results["opset_shared"] == 18 and results["opset_dynamo"] == 18  # the notebook pins 18
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
    chosen = results["zoo_chosen"]
    assert len(chosen) >= 4 and results["zoo_passed"] == sorted(chosen), (results["zoo_passed"], chosen)
    zoo = {m: v for m, v in verdicts(records).items() if m.endswith("(light)")}
    assert zoo == {f"{name} (light)": "pass" for name in chosen}, zoo
    assert all(r["framework"] == "onnx model zoo (light)" for r in records if r["model"].endswith("(light)"))
    timings = results["zoo_timings_ms"]
    assert sorted(timings) == sorted(chosen), "every model that ran was timed"
    for name, t in timings.items():
        assert set(t) == {"session_s", "first_run_s", "median_run_s"} and 0 < t["median_run_s"] < 60_000, (name, t)
    # No ranking between models: on a busy 2-core machine a median of a few runs can put any model first.
    assert results["reference_evaluator_softmax_opset9_disagrees"] is True and results["ort_follows_softmax_spec"] is True
    inter = results["intermediates"]  # quick mode too, on a smaller image
    assert inter["compared"] >= 100 and inter["outside"] == ["softmaxout_1"], inter
    assert verdicts(records)["all-MiniLM-L6-v2 (pretrained)"] == "pass"  # the ONNX encoder matched PyTorch
    for sim in (results["similarity"], results["similarity_torch"]):
        paraphrase = sim["Someone is strumming an acoustic guitar."]
        unrelated = sim["The stock market fell sharply today."]
        assert paraphrase == max(sim.values()) and paraphrase > unrelated + 0.3, sim
