"""helpers.legacy: export manifests that carry ONNX files and reference outputs between kernels (both kernels);
the Chainer and MXNet helpers run where those frameworks are installed (the legacy kernel)."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from helpers import legacy
from helpers.verify import compare_outputs, run_onnx
from tests.unit.models import linear_model, linear_reference

X = np.random.RandomState(0).rand(8, 4).astype(np.float32)


def _export(framework="chainer", opsets=(9, 13)):
    folder = legacy.export_dir(framework)
    models = []
    for opset in opsets:
        onnx.save(linear_model(opset=opset), str(folder / f"linear_opset{opset}.onnx"))
        models.append(legacy.ExportedModel(f"linear_opset{opset}.onnx", opset, "unit-test", "1.0"))
    ref = linear_reference(X)
    path = legacy.write_export_manifest(folder, framework=framework, framework_version="7.8.1", models=models,
                                        inputs={"x": X}, outputs={"scores": ref["scores"]}, notebook="99_demo")
    return folder, path


def test_a_manifest_round_trips_models_inputs_and_reference_outputs(tmp_build):
    folder, path = _export()
    assert path == folder / legacy.MANIFEST and folder == tmp_build / "models" / "legacy" / "chainer"
    export = legacy.read_export_manifest("chainer")
    assert export.framework == "chainer" and export.framework_version == "7.8.1" and export.notebook == "99_demo"
    np.testing.assert_array_equal(export.inputs["x"], X)
    np.testing.assert_array_equal(export.outputs["scores"], linear_reference(X)["scores"])
    assert [m.opset for m in export.models] == [9, 13] and export.models[1].path.exists()
    assert export.environment["numpy"] == np.__version__
    result = compare_outputs(export.outputs, run_onnx(export.models[0].path, export.inputs), rtol=1e-6, atol=1e-6)
    assert result.passed, result
    manifest = json.loads(path.read_text())
    assert manifest["inputs"] == {"x": {"shape": [8, 4], "dtype": "float32"}}
    assert len(manifest["models"][0]["sha256"]) == 64


def test_a_missing_export_names_the_notebook_that_makes_it(tmp_build):
    with pytest.raises(legacy.MissingExportError, match=r"manifest.json does not exist\. Run notebooks/16_export_mxnet"):
        legacy.read_export_manifest("mxnet")
    with pytest.raises(legacy.MissingExportError, match="15_export_chainer.ipynb in the legacy kernel"):
        legacy.load_legacy_exports(("chainer",), regenerate=None)


@pytest.mark.parametrize(("damage", "message"), [
    (lambda folder: (folder / "linear_opset9.onnx").write_bytes(b"edited"), "changed after its manifest was written"),
    (lambda folder: (folder / "linear_opset13.onnx").unlink(), "the model file .*linear_opset13.onnx is missing"),
    (lambda folder: (folder / legacy.REFERENCE).unlink(), "the reference outputs .* are missing"),
    (lambda folder: (folder / legacy.MANIFEST).write_text("{"), "is not valid JSON"),
])
def test_a_damaged_or_stale_export_is_refused_with_the_fix(tmp_build, damage, message):
    folder, _ = _export()
    damage(folder)
    with pytest.raises(legacy.MissingExportError, match=message + r".*Run notebooks/15_export_chainer"):
        legacy.read_export_manifest("chainer")


def test_a_manifest_is_only_written_for_models_that_exist(tmp_build):
    with pytest.raises(FileNotFoundError, match="save the ONNX file into"):
        legacy.write_export_manifest(legacy.export_dir("mxnet"), framework="mxnet", framework_version="1.9.1",
                                     models=[legacy.ExportedModel("nope.onnx", 13, "x", "1")],
                                     inputs={"x": X}, outputs={"y": X})
    with pytest.raises(ValueError, match="at least one exported model"):
        legacy.write_export_manifest(legacy.export_dir("mxnet"), framework="mxnet", framework_version="1.9.1",
                                     models=[], inputs={"x": X}, outputs={"y": X})


def test_unknown_frameworks_are_refused():
    with pytest.raises(ValueError, match=r"Unknown legacy frameworks \['cntk'\]; choose from \['chainer', 'mlnet', 'mxnet'\]"):
        legacy.load_legacy_exports(("cntk",))


def test_the_exports_table_has_a_row_per_file(tmp_build):
    _export()
    table = legacy.exports_table({"chainer": legacy.read_export_manifest("chainer")})
    assert [r["opset"] for r in table.rows] == [9, 13] and table.rows[0]["samples"] == 8


def test_chainer_exports_and_matches_onnx_runtime(tmp_path):
    chainer = pytest.importorskip("chainer", reason="Chainer lives in the legacy kernel; its unit-test run covers this")
    import chainer.links as L
    import onnx_chainer

    legacy.quiet_legacy_warnings()
    rng = np.random.RandomState(0)
    X_train = rng.rand(64, 6).astype(np.float32)
    np.random.seed(0)  # noqa: NPY002 - Chainer initializes from numpy's global generator
    model = chainer.Sequential(L.Linear(6, 3))
    path = tmp_path / "linear.onnx"
    with chainer.using_config("train", False):
        onnx_chainer.export(model, X_train[:1], filename=str(path), opset_version=9, input_names=["x"],
                            output_names=["y"], input_shapes=[("batch", 6)])
    with chainer.using_config("train", False), chainer.no_backprop_mode():
        expected = model(X_train).array
    result = compare_outputs([expected], [run_onnx(path, X_train)["y"]])
    assert result.passed, result


def test_gluon_exports_with_export_model_and_matches_onnx_runtime(tmp_path):
    mx = pytest.importorskip("mxnet", reason="MXNet lives in the legacy kernel; its unit-test run covers this")
    from mxnet import gluon

    legacy.quiet_legacy_warnings()
    rng = np.random.RandomState(0)
    X_train = rng.rand(64, 1, 4, 4).astype(np.float32)
    mx.random.seed(0)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Conv2D(4, kernel_size=3, padding=1, activation="relu"), gluon.nn.Flatten(), gluon.nn.Dense(3))
    net.initialize(mx.init.Xavier())
    net.hybridize()
    net(mx.nd.array(X_train[:1]))  # a hybridized block exports after one forward pass
    net.export(str(tmp_path / "net"), epoch=0)
    path = mx.onnx.export_model(str(tmp_path / "net-symbol.json"), str(tmp_path / "net-0000.params"),
                                in_shapes=[(1, 1, 4, 4)], in_types=np.float32, onnx_file_path=str(tmp_path / "net.onnx"),
                                dynamic=True, dynamic_input_shapes=[(None, 1, 4, 4)])
    result = compare_outputs([net(mx.nd.array(X_train)).asnumpy()], [next(iter(run_onnx(path, X_train).values()))])
    assert result.passed, result


def test_regenerate_runs_the_producing_notebook_once_when_its_export_is_missing(tmp_build, monkeypatch, capsys):
    from workbook import runner

    calls = []

    def fake_execute(path, parameters=None, **_):
        calls.append((path.name, parameters))
        _export("chainer")
        return runner.NotebookRun(path.stem, "onnx-workbook-legacy", 1.0, "ok", output=path)

    exports = legacy.load_legacy_exports(("chainer",), regenerate=fake_execute, quick=True)
    assert calls == [("15_export_chainer.ipynb", {"quick": True})]
    assert "manifest.json does not exist.\nRunning 15_export_chainer.ipynb" in capsys.readouterr().out
    assert exports["chainer"].models[0].opset == 9
    legacy.load_legacy_exports(("chainer",), regenerate=fake_execute)
    assert len(calls) == 1, "an intact export is not regenerated"


def test_a_failed_regeneration_says_which_notebook_and_cell_failed(tmp_build, monkeypatch):
    from workbook import runner

    def failing_execute(path, parameters=None, **_):
        return runner.NotebookRun(path.stem, "onnx-workbook-legacy", 1.0, "failed", cell_index=3, error="ValueError: boom")

    with pytest.raises(legacy.MissingExportError, match="Regenerating the mxnet export failed. 16_export_mxnet failed "
                                                        "in code cell 3 .*ValueError: boom"):
        legacy.load_legacy_exports(("mxnet",), regenerate=failing_execute)


def _notebook_17_results():
    cross = {f"cross-kernel: {fw} {f}": o for fw, f, o in (
        ("chainer", "digits_cnn_opset11.onnx", 11), ("chainer", "digits_cnn_opset9.onnx", 9),
        ("mxnet", "digits_cnn_opset13.onnx", 13), ("mxnet", "digits_cnn_export_model.onnx", 23))}
    upgraded = ["upgraded: chainer digits CNN (opset 9 -> 21)", "upgraded: CNTK-era stand-in (opset 9 -> 21)"]
    records = [{"model": n, "verdict": "pass", "opset": o, "kernel": "main", "label_agreement": 1.0}
               for n, o in cross.items()]
    records += [{"model": n, "verdict": "pass", "opset": 21, "kernel": "main", "label_agreement": 1.0} for n in upgraded]
    results = {"cross_kernel": dict.fromkeys(cross, "pass"), "cross_kernel_opsets": cross,
               "cross_kernel_max_abs_err": 1e-6, "upgraded": dict.fromkeys(upgraded, "pass"), "target_opset": 21,
               "chainer_old_opset": 9, "restamp_checker_error": "Unrecognized attribute: ratio for operator Dropout",
               "restamp_silent_max_abs_err": 0.4}
    return results, records


def _failing_variants():
    def failed_upgrade(results, records):
        records[-1]["verdict"] = "fail"

    def missing_mxnet(results, records):
        for name in [n for n in results["cross_kernel"] if "mxnet" in n]:
            del results["cross_kernel"][name], results["cross_kernel_opsets"][name]

    def old_opset_not_the_oldest(results, records):
        results["chainer_old_opset"] = 11

    def restamp_changed_nothing(results, records):
        results["restamp_silent_max_abs_err"] = 0.0

    return [failed_upgrade, missing_mxnet, old_opset_not_the_oldest, restamp_changed_nothing]


def test_notebook_17_check_passes_on_good_results():
    from tests.notebooks.checks_legacy import _legacy_in_main

    _legacy_in_main(*_notebook_17_results())


@pytest.mark.parametrize("damage", _failing_variants(), ids=lambda f: f.__name__)
def test_notebook_17_check_fails_on_each_broken_claim(damage):
    from tests.notebooks.checks_legacy import _legacy_in_main

    results, records = _notebook_17_results()
    damage(results, records)
    with pytest.raises(AssertionError):
        _legacy_in_main(results, records)
