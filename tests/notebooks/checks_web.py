"""Checks for the browser, Node.js and devices notebook (42)."""

from __future__ import annotations

from tests.notebooks.expectations import expect, verdicts


@expect("42_deploy_browser_node")
def _deploy_browser_node(results, records):
    found = verdicts(records)
    # Parity with Python's ONNX Runtime on the digits CNN, MiniLM (a transformer) and a scikit-learn model,
    # in the browser and in Node.js, and of the .ort file.
    for where in ("in the browser", "in Node.js"):
        assert found[f"digits CNN {where}"] == "pass", found
        assert found[f"iris logistic regression (zipmap=False) {where}"] == "pass", found
        assert any(m.startswith("MiniLM") and m.endswith(where) and v == "pass" for m, v in found.items()), found
    assert found["digits CNN as .ort (ORT format)"] == "pass" and results["ort_parity"] == "pass"
    runtimes = {r["framework"] for r in records}
    assert {"onnxruntime-web (wasm)", "onnxruntime-node", "onnxruntime (ORT format)"} <= runtimes, runtimes
    assert results["web_max_abs_err"]["digits"] < 1e-4 and results["node_max_abs_err"]["digits"] < 1e-4
    # The page's own paths: the drawing pad and the JavaScript tokenizer give Python's inputs.
    assert results["pad_labels_match"] is True and results["tokenizer_ids_match"] is True
    assert results["page_similarity_err"] < 2e-2  # the page's own tokenizer, encoder and pooling, end to end
    assert results["int8_cosine_min"] > 0.99
    # Threads need cross-origin isolation; WebGPU falls back to wasm where there is no adapter.
    iso = results["isolation"]
    threads = results["threads"]
    assert iso["isolated, 1 thread"] == {"isolated": True, "threads": 1}
    assert iso[f"isolated, {threads} threads"] == {"isolated": True, "threads": threads}
    assert iso[f"not isolated, {threads} threads"] == {"isolated": False, "threads": 1}
    assert "crossOriginIsolated" in results["isolation_warning"]
    assert results["webgpu_fallback_ok"] is True
    latency = results["latency_ms"]
    assert {"browser wasm, 1 thread", f"browser wasm, {threads} threads (isolated)",
            "Python onnxruntime, 1 thread", "Node onnxruntime-node, 1 thread"} <= set(latency), latency
    assert all(v > 0 for v in latency.values())
    # What breaks, each seen with a real file.
    assert "non-tensor" in results["zipmap_errors"]["browser"].lower()
    assert "non tensor" in results["zipmap_errors"]["node"].lower()
    ext = results["external"]
    assert ext["node"] == "ok" and ext["browser, model only"] != "ok" and ext["browser, with externalData"] == "ok"
    top = results["max_opset"]
    assert top["browser"] == top["node"] < top["python"], top
    assert all(row["browser loads"] == "ok" for row in results["int8_browser"])
    # Devices: the ORT format and its minimal-build operator list.
    assert "ai.onnx;" in results["ort_config"] and results["ort_sizes"]["ORT format"] > 0
    assert results["ort_in_browser_err"] < 1e-4
    # Nothing left running, nothing fetched from outside 127.0.0.1.
    assert results["servers_stopped"] >= 3 and results["blocked"] == []
