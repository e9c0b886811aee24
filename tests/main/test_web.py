"""helpers.web: tensors over JSON, parity of a JavaScript runtime, and, where Node.js and Chromium are installed
(scripts/setup.sh installs both), the page and the Node script in the real runtimes.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pytest

from helpers import web
from helpers.processes import Browser, find_chromium, running_servers, stop_servers
from tests.unit.models import linear_model
from workbook.reports import parity_records


@pytest.fixture
def servers():
    yield
    stop_servers()
    assert running_servers() == []


def test_tensors_survive_the_trip_to_json_exactly():
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    wire = json.loads(json.dumps(web.to_wire(x)))
    assert wire["type"] == "float32" and wire["dims"] == [3, 4]
    back = web.from_wire(wire)
    assert back.dtype == np.float32 and np.array_equal(back, x)
    ids = np.array([[101, 2023, 102]], dtype=np.int64)
    assert np.array_equal(web.from_wire(web.to_wire(ids)), ids)


def test_a_type_javascript_cannot_take_is_refused_with_the_fix():
    with pytest.raises(TypeError, match=r"astype\(np.float32\)"):
        web.to_wire(np.zeros(3, dtype=np.float64))


def _linear_case(tmp_path):
    path = tmp_path / "linear.onnx"
    model = linear_model()
    onnx.save(model, path)
    import onnxruntime as ort

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = {i.name: np.random.default_rng(1).normal(size=[d if isinstance(d, int) else 5 for d in i.shape])
             .astype(np.float32) for i in sess.get_inputs()}
    return path, feeds, dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))


def test_runtime_parity_passes_for_the_same_outputs_and_records_the_runtime(tmp_path, tmp_build):
    path, feeds, outputs = _linear_case(tmp_path)
    result = web.runtime_parity(path, feeds, {k: web.to_wire(v) for k, v in outputs.items()}, name="same",
                                runtime="onnxruntime-web (wasm)", runtime_version="1.30.0")
    assert result.passed
    record = parity_records()[-1]
    assert record["framework"] == "onnxruntime-web (wasm)" and record["framework_version"] == "1.30.0"


def test_runtime_parity_fails_when_fed_a_wrong_output(tmp_path, tmp_build):
    path, feeds, outputs = _linear_case(tmp_path)
    wrong = {k: (v + 1e-2 * np.abs(v).max() + 1e-3).astype(v.dtype) if v.dtype.kind == "f" else v
             for k, v in outputs.items()}
    result = web.runtime_parity(path, feeds, wrong, name="off", runtime="onnxruntime-node", runtime_version="1.30.0")
    assert not result.passed and result.verdict == "fail"
    with pytest.raises(AssertionError, match="Parity check failed"):
        result.assert_passed()


def test_missing_npm_packages_name_the_command_that_installs_them(tmp_path, monkeypatch):
    monkeypatch.setattr(web, "web_dir", lambda: tmp_path)
    with pytest.raises(web.NodeUnavailableError, match=r"npm ci --ignore-scripts"):
        web.check_node_modules("onnxruntime-web")


def test_a_machine_without_node_gets_the_install_command(tmp_path, monkeypatch):
    monkeypatch.delenv("NODE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(web.NodeUnavailableError, match="apt-get install nodejs"):
        web.run_node([{"model": "x.onnx"}])


needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (web.web_dir() / "node_modules" / "onnxruntime-node").exists(),
    reason="Node.js or web/node_modules missing (bash scripts/setup.sh installs them)")


@needs_node
def test_node_scores_a_model_like_python_and_reports_a_broken_one_without_stopping(tmp_path):
    path, feeds, outputs = _linear_case(tmp_path)
    (tmp_path / "broken.onnx").write_bytes(b"not an onnx file")
    good, bad = web.run_node([{"model": path, "feeds": {k: web.to_wire(v) for k, v in feeds.items()}},
                              {"model": tmp_path / "broken.onnx"}])
    for name, value in outputs.items():
        np.testing.assert_allclose(web.from_wire(good["outputs"][name]), value, rtol=1e-6, atol=1e-6)
    assert "error" in bad and bad["error"]


needs_browser = pytest.mark.skipif(
    find_chromium() is None or not (web.web_dir() / "node_modules" / "onnxruntime-web").exists(),
    reason="Chromium or web/node_modules missing (bash scripts/setup.sh installs them)")


@needs_browser
def test_the_page_runs_a_model_in_headless_chromium_only_when_isolated_with_threads(tmp_path, servers):
    path, feeds, outputs = _linear_case(tmp_path)
    wire = {k: web.to_wire(v) for k, v in feeds.items()}
    isolated = web.serve_web({"m.onnx": path})
    plain = web.serve_web({"m.onnx": path}, isolated=False)
    with Browser() as browser:
        page = browser.open(isolated.url + "?threads=2")
        assert page.call("info")["threadsUsed"] is None, "no session yet: the runtime has not started"
        got = page.call("run", "/models/m.onnx", wire)
        info = page.call("info")
        assert info["crossOriginIsolated"] and info["threadsUsed"] == 2
        for name, value in outputs.items():
            np.testing.assert_allclose(web.from_wire(got[name]), value, rtol=1e-5, atol=1e-6)
        with pytest.raises(RuntimeError, match="no such file|failed|404|Can't create"):
            page.call("session", "/models/missing.onnx")
        plain_page = browser.open(plain.url + "?threads=2")
        plain_page.call("session", "/models/m.onnx")
        assert plain_page.call("info")["threadsUsed"] == 1
        assert browser.blocked == []
