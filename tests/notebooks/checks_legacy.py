"""Checks for the legacy-framework notebooks: Chainer (15) and MXNet (16) in the legacy kernel, and their
files run and upgraded in the main kernel (17)."""

from __future__ import annotations

from tests.notebooks.expectations import expect


def _expected(records, models):
    """The records of ``models`` (records of other names, from earlier runs of an older notebook, are ignored);
    each must exist and pass."""
    by_model = {r["model"]: r for r in records}
    missing = sorted(set(models) - set(by_model))
    assert not missing, f"no parity record for {missing}; found {sorted(by_model)}"
    picked = [by_model[m] for m in sorted(models)]
    failed = [r["model"] for r in picked if r["verdict"] != "pass"]
    assert not failed, f"parity failed for {failed}"
    return picked


@expect("15_export_chainer")
def _chainer(results, records):
    opsets = results["opsets"]  # the run's old_opset and opset (7 to 11 each; one file when they are equal)
    assert opsets and set(opsets) <= set(range(7, 12)), opsets
    assert results["accuracy"] > 0.6
    assert 0 <= results["max_abs_err"] < 1e-4
    for r in _expected(records, {f"chainer digits CNN (opset {o})" for o in opsets}):
        assert r["framework"] == "chainer" and r["converter"] == "onnx_chainer" and r["kernel"] == "legacy"
        assert r["opset"] in opsets and r["label_agreement"] == 1.0


@expect("16_export_mxnet")
def _mxnet(results, records):
    default = results["default_opset"]
    assert results["opsets"] == [13, default] and default > 13
    assert results["accuracy"] > 0.6
    assert 0 <= results["max_abs_err"] < 1e-4
    picked = _expected(records, {"mxnet digits CNN (opset 13)", f"mxnet digits CNN (opset {default})"})
    for r in picked:
        assert r["framework"] == "mxnet" and r["kernel"] == "legacy" and r["label_agreement"] == 1.0
    assert {r["converter"] for r in picked} == {"mx.onnx.export_model", "mx.onnx MXNetGraph"}


@expect("17_legacy_models_modern_runtime")
def _legacy_in_main(results, records):
    # Every file listed in the manifests of 15 and 16 (whatever opsets they last ran with) ran here and matched
    # the framework's own outputs; both upgrades did too.
    cross_names = set(results["cross_kernel"])
    assert {n.split()[1] for n in cross_names} == {"chainer", "mxnet"} and len(cross_names) >= 3, cross_names  # 1-2 + 2
    cross = _expected(records, cross_names)
    target, old = results["target_opset"], results["chainer_old_opset"]
    upgraded = _expected(records, {f"upgraded: chainer digits CNN (opset {old} -> {target})",
                                   f"upgraded: CNTK-era stand-in (opset 9 -> {target})"})
    assert set(results["upgraded"]) == {r["model"] for r in upgraded}
    assert {r["opset"] for r in cross} == set(results["cross_kernel_opsets"].values())
    assert old == min(o for n, o in results["cross_kernel_opsets"].items() if "chainer" in n) < target
    assert {r["opset"] for r in upgraded} == {target}
    for r in cross + upgraded:
        assert r["kernel"] == "main" and r["label_agreement"] == 1.0, r["model"]
    assert set(results["cross_kernel"].values()) == {"pass"} and results["cross_kernel_max_abs_err"] < 1e-4
    assert set(results["upgraded"].values()) == {"pass"}
    assert results["restamp_checker_error"].startswith("Unrecognized attribute: ratio")
    assert results["restamp_silent_max_abs_err"] > 0.1
