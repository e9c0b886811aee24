"""Checks of the exercises of notebooks 13-17: boosting, CoreML/LIBSVM, Chainer, MXNet, legacy files today.

Each check recomputes what the answer claims (thresholds, shares of flipped rows, labels, operator sets,
parity against the framework's outputs) and compares. Importable in the main and the legacy kernel:
framework imports (lightgbm, xgboost, libsvm, mxnet, onnxruntime) happen inside the checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from helpers.exercises import exercise, onnx_session

REMEDIES = ("float64 thresholds", "float32 thresholds rounded down")


def _pair(answer: Any, size: int, what: str) -> str | None:
    """A hint when ``answer`` is not a tuple of ``size`` items (``what`` names them), else None."""
    if not isinstance(answer, (tuple, list)) or len(answer) != size:
        return f"answer a tuple of {size}: {what}."
    return None


def _onnx(model: Any) -> Any:
    """An ``onnx.ModelProto`` from a path or a model."""
    import onnx

    if isinstance(model, onnx.ModelProto):
        return model
    path = Path(model)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    return onnx.load(str(path))


def _changed_definitions(before: Any, after: Any) -> set[str]:
    """Operator types of both models whose definition version differs between their opsets."""
    from helpers.opset import _since_versions

    old, new = _since_versions(_onnx(before)), _since_versions(_onnx(after))
    return {op for op in old.keys() & new.keys() if old[op] != new[op]}


# --- 13 gradient boosting ----------------------------------------------------------------------------------------

@exercise("13.1", "train LightGBM with max_bin=15; answer (model, how many distinct thresholds move in float32)")
def _check_max_bin(answer: Any, *, X_train: np.ndarray) -> str | None:
    from helpers.classic import split_thresholds

    hint = _pair(answer, 2, "the LGBMClassifier trained with max_bin=15, and the number of its thresholds that move")
    if hint:
        return hint
    model, moved = answer
    if type(model).__name__ != "LGBMClassifier" or model.get_params().get("max_bin") != 15:
        return "the model should be an LGBMClassifier created with max_bin=15 (a constructor argument)."
    if getattr(model, "n_features_in_", None) != X_train.shape[1]:
        return "train it on the churn matrix X_train, as in step 2."
    thresholds = split_thresholds(model)
    expected = sum(int((t.astype(np.float32) != t).sum()) for t in thresholds.values())
    if not isinstance(moved, (int, np.integer)) or isinstance(moved, bool):
        return f"the count should be a whole number, not {type(moved).__name__}."
    if moved == sum(map(len, thresholds.values())) and moved != expected:
        return "that counts every threshold: count only those that change when cast to float32 (t.astype(np.float32) != t)."
    if moved != expected:
        return "not this model's count: compare classic.split_thresholds(model) with its float32 copy, as in step 5."
    return None


@exercise("13.2", "feed both LightGBM remedies rows that were never float32; answer each one's share of rows outside tolerance")
def _check_never_float32(answer: Any, *, model: Any, X_test: np.ndarray, float64_path: Any, rounded_path: Any) -> str | None:
    from helpers.classic import rows_outside_tolerance
    from helpers.verify import run_onnx

    if not isinstance(answer, dict) or set(answer) != set(REMEDIES):
        return f"answer a dict with the keys {list(REMEDIES)} and a share of rows (0 to 1) for each."
    for remedy in REMEDIES:
        if not isinstance(answer[remedy], (float, int, np.floating, np.integer)) or not 0 <= answer[remedy] <= 1:
            return f"{remedy!r}: answer a share between 0 and 1 (rows outside tolerance / rows)."
    X64 = X_test.astype(np.float64) + 1e-9
    want = model.predict_proba(X64)
    expected = {
        REMEDIES[0]: rows_outside_tolerance(want, list(run_onnx(float64_path, [X64]).values())[1]),
        REMEDIES[1]: rows_outside_tolerance(want, list(run_onnx(rounded_path, [X64.astype(np.float32)]).values())[1]),
    }
    for remedy, share in expected.items():
        if abs(answer[remedy] - share) > 1e-9:
            return (f"{remedy!r}: not the share measured on X_test.astype(np.float64) + 1e-9; feed the float64 model "
                    "the float64 rows, the rounded-down one the same rows cast to float32, and compare with "
                    "model.predict_proba of the float64 rows (classic.rows_outside_tolerance).")
    return None


@exercise("13.3", "train XGBoost on float64-scaled churn cast to float32; answer (model, the scaled float32 test rows)")
def _check_scaled_first(answer: Any, *, X_train: np.ndarray, X_test: np.ndarray, target_opset: int) -> str | None:
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType
    from sklearn.preprocessing import StandardScaler

    from helpers.classic import split_thresholds, tree_parity
    from helpers.verify import run_onnx

    hint = _pair(answer, 2, "the XGBClassifier trained on the scaled rows, and the scaled float32 test rows")
    if hint:
        return hint
    model, X_scaled = answer
    if type(model).__name__ != "XGBClassifier":
        return "the model should be an XGBClassifier."
    X_scaled = np.asarray(X_scaled)
    if X_scaled.dtype != np.float32:
        return f"the test rows are {X_scaled.dtype}: cast the float64 scaled values to float32 once, and use that array."
    expected = StandardScaler().fit(X_train.astype(np.float64)).transform(X_test.astype(np.float64))
    if X_scaled.shape != expected.shape or not np.allclose(X_scaled, expected, atol=1e-5):
        return "these are not the test rows scaled in float64 by a StandardScaler fitted on X_train."
    thresholds = [t for t in split_thresholds(model).values() if len(t)]
    if thresholds and max(float(np.abs(t).max()) for t in thresholds) > 50:
        return "the model's thresholds look unscaled: train XGBoost on the scaled training rows."
    onx = onnxmltools.convert_xgboost(model, initial_types=[("input", FloatTensorType([None, X_scaled.shape[1]]))],
                                      target_opset=target_opset)
    got = list(run_onnx(onx, [X_scaled]).values())
    parity = tree_parity(model.predict_proba(X_scaled), got[1], model.predict(X_scaled), got[0])
    if parity["rows_outside_tolerance"] > 0 or parity["label_agreement"] < 1:
        return f"{parity['rows_outside_tolerance']:.1%} of rows flip: give XGBoost and ONNX exactly the same float32 array."
    return None


# --- 14 CoreML and LIBSVM ----------------------------------------------------------------------------------------

def _libsvm_predict(model: Any, X: np.ndarray, options: str) -> tuple[np.ndarray, np.ndarray]:
    """LIBSVM's labels and scores (or probabilities, with ``-b 1``) for ``X``."""
    from helpers.workarounds import patch_libsvm

    patch_libsvm()
    import svmutil

    labels, _, scores = svmutil.svm_predict(np.zeros(len(X)), X.astype(np.float64), model, options)
    return np.asarray(labels, dtype=np.int64), np.asarray(scores)


@exercise("14.1", "train LIBSVM with -b 1 and convert; answer (libsvm model, ONNX model, label agreement with svm_predict -b 1)")
def _check_libsvm_probabilities(answer: Any, *, X: np.ndarray) -> str | None:
    from helpers.verify import run_onnx

    hint = _pair(answer, 3, "the LIBSVM model trained with -b 1, its ONNX conversion, and the share of equal labels")
    if hint:
        return hint
    svm, onx, agreement = answer
    if not hasattr(svm, "is_probability_model") or not svm.is_probability_model():
        return "the LIBSVM model has no probabilities: train it with the option -b 1."
    labels, probabilities = _libsvm_predict(svm, X, "-b 1 -q")
    outputs = run_onnx(_onnx(onx), {"input": X})
    if "probabilities" not in outputs or np.shape(outputs["probabilities"]) != probabilities.shape:
        return "convert that same LIBSVM model with convert_libsvm (input named 'input'), as in step 6."
    if not np.allclose(outputs["probabilities"], probabilities, rtol=1e-4, atol=1e-5):
        return "ONNX's probabilities differ from svm_predict(..., '-b 1')'s: convert the model you trained with -b 1."
    onnx_labels = np.asarray(outputs["label"]).ravel()
    if (onnx_labels != labels).mean() > 0.5:
        return "most ONNX labels differ from LIBSVM's: the class-order bug again; apply wa.fix_libsvm_class_labels."
    if not isinstance(agreement, (float, int, np.floating, np.integer)) or abs(agreement - float(np.mean(onnx_labels == labels))) > 1e-9:
        return "the label agreement is the share of test rows whose ONNX label equals svm_predict(..., '-b 1')'s label."
    return None


@exercise("14.2", "retrain LIBSVM with labels first seen as 0, 1, 2 and convert unfixed; answer (libsvm model, ONNX model)")
def _check_libsvm_sorted(answer: Any, *, X: np.ndarray) -> str | None:
    from helpers.verify import run_onnx

    hint = _pair(answer, 2, "the LIBSVM model trained on reordered rows, and its ONNX conversion")
    if hint:
        return hint
    svm, onx = answer
    if not hasattr(svm, "get_labels"):
        return "the first item should be the model svmutil.svm_train returned."
    if svm.get_labels() != sorted(svm.get_labels()):
        return f"LIBSVM's class order is {svm.get_labels()}: put one row of each class first, in ascending label order."
    labels, _ = _libsvm_predict(svm, X, "-q")
    onnx_labels = np.asarray(run_onnx(_onnx(onx), {"input": X})["label"]).ravel()
    if not np.array_equal(onnx_labels, labels):
        return f"only {np.mean(onnx_labels == labels):.0%} of ONNX's labels equal LIBSVM's: convert this model with convert_libsvm."
    return None


# --- 15 Chainer --------------------------------------------------------------------------------------------------

@exercise("15.1", "export at opset 6; answer (onnx_chainer's warning text, the error ONNX Runtime raises on the file)")
def _check_opset6(answer: Any) -> str | None:
    hint = _pair(answer, 2, "the text of the warning onnx_chainer gives, and the exception ONNX Runtime raises")
    if hint:
        return hint
    warning, error = answer
    text = str(getattr(warning, "message", warning))
    if "opset_version" not in text or "7 ~ 11" not in text:
        return ("that is not onnx_chainer's warning about the opset: record it with "
                "warnings.catch_warnings(record=True) and warnings.simplefilter('always').")
    if not isinstance(error, Exception):
        return "the second item should be the exception ONNX Runtime raised (except Exception as err: ...)."
    if "NOT_IMPLEMENTED" not in str(error) and "Could not find an implementation" not in str(error):
        return "not the error of loading the opset-6 file: create an ort.InferenceSession for it and keep what it raises."
    return None


@exercise("15.2", "let L.Linear flatten, export; answer (the ONNX path, whether it accepts a batch of 5)")
def _check_linear_flatten(answer: Any, *, X: np.ndarray) -> str | None:
    import onnx

    hint = _pair(answer, 2, "the path of the new ONNX file, and True or False: does it run a batch of 5")
    if hint:
        return hint
    path, accepts = answer
    model = _onnx(path)
    constants = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            constants[node.output[0]] = onnx.numpy_helper.to_array(node.attribute[0].t)
    shapes = [constants.get(n.input[1]) for n in model.graph.node if n.op_type == "Reshape" and len(n.input) > 1]
    if not any(s is not None and s.size and s.ravel()[0] != -1 for s in shapes):
        return "this graph's Reshape keeps the batch free (-1): export the model whose fc1 gets the 4-D input itself."
    if not isinstance(accepts, (bool, np.bool_)):
        return "answer True or False for the batch of 5."
    session = onnx_session(model)
    try:
        session.run(None, {session.get_inputs()[0].name: X[:5].astype(np.float32)})
        ran = True
    except Exception:
        ran = False
    if bool(accepts) != ran:
        return "run it: feed X_test[:5] to an InferenceSession of the file and see whether it returns (5, 10) logits."
    return None


# --- 16 MXNet ----------------------------------------------------------------------------------------------------

@exercise("16.1", "add BatchNorm, retrain, export; answer (the net, the ONNX path, the operator that appears)")
def _check_batchnorm(answer: Any, *, X: np.ndarray, reference: Any) -> str | None:
    from helpers.verify import run_onnx

    hint = _pair(answer, 3, "the retrained Gluon net, the path of its ONNX file, and the new operator's name")
    if hint:
        return hint
    net, path, op = answer
    new_ops = {n.op_type for n in _onnx(path).graph.node} - {n.op_type for n in _onnx(reference).graph.node}
    if not new_ops:
        return "this file has no operator the original lacks: add gluon.nn.BatchNorm() to the net and export it."
    if op not in new_ops:
        return "that operator was already in the original graph, or is not in yours: compare the two sets of op_type."
    import mxnet as mx

    want = net(mx.nd.array(X)).asnumpy()
    got = list(run_onnx(path, [X.astype(np.float32)]).values())[0]
    if not np.allclose(got, want, rtol=1e-4, atol=1e-5) or not np.array_equal(got.argmax(1), want.argmax(1)):
        return ("ONNX Runtime and the net differ beyond rtol=1e-4, atol=1e-5: export the net you answer, after "
                "training, and predict outside autograd.record().")
    return None


@exercise("16.2", "export at the other opset (12 or 13); answer (its path, the operators whose definitions differ)")
def _check_other_opset(answer: Any, *, reference: Any) -> str | None:
    from helpers.opset import opset_of

    hint = _pair(answer, 2, "the path of the file at the other opset, and the set of operator types that changed")
    if hint:
        return hint
    path, changed = answer
    mine, theirs = opset_of(_onnx(path)), opset_of(_onnx(reference))
    if mine not in (12, 13) or mine == theirs:
        return f"the file declares opset {mine}; export at {25 - theirs}, the other opset MXNet's converters know."
    if not isinstance(changed, (set, frozenset, list, tuple)):
        return "answer the operator types as a set of strings, e.g. {'Conv'}."
    if set(changed) != _changed_definitions(reference, path):
        return "not the operators whose definition version differs: read the 'changed' column of operator_changes."
    return None


# --- 17 legacy files in a modern runtime -------------------------------------------------------------------------

@exercise("17.1", "upgrade the MXNet file to target_opset and verify; answer (the upgraded model, the operators that moved)")
def _check_mxnet_upgrade(answer: Any, *, export: Any, target_opset: int) -> str | None:
    from helpers.opset import opset_of
    from helpers.verify import run_onnx

    hint = _pair(answer, 2, "the upgraded model (or its path), and the set of operator types whose definitions moved")
    if hint:
        return hint
    upgraded, moved = answer
    model = _onnx(upgraded)
    if opset_of(model) != target_opset:
        return f"the model declares opset {opset_of(model)}: convert_version(model, target_opset) with {target_opset}."
    original = min(export.models, key=lambda m: m.opset)
    got = list(run_onnx(model, list(export.inputs.values())).values())[0]
    want = list(export.outputs.values())[0]
    if got.shape != want.shape or not np.allclose(got, want, rtol=1e-4, atol=1e-5):
        return "the upgraded model does not reproduce MXNet's logits from the manifest: upgrade the MXNet file, not another."
    if not isinstance(moved, (set, frozenset, list, tuple)) or set(moved) != _changed_definitions(original.path, model):
        return "not the operators whose definition version moved: read the 'definition before/after' columns of operator_changes."
    return None


@exercise("17.2", "upgrade the opset-7 classifier in one step and in two; answer (one step, two steps, same nodes?)")
def _check_two_paths(answer: Any, *, target_opset: int) -> str | None:
    from helpers.opset import old_opset_classifier, opset_of
    from helpers.verify import run_onnx

    hint = _pair(answer, 3, "the model upgraded in one step, the one upgraded via 13, and True or False: same nodes")
    if hint:
        return hint
    one, two, same = answer
    one, two = _onnx(one), _onnx(two)
    if opset_of(one) != target_opset or opset_of(two) != target_opset:
        return f"both models should end at target_opset ({target_opset}); they declare {opset_of(one)} and {opset_of(two)}."
    features = np.random.RandomState(7).rand(32, 64).astype(np.float32)
    want = run_onnx(old_opset_classifier(opset=7), features)["probabilities"]
    for label, model in (("one step", one), ("two steps", two)):
        got = run_onnx(model, features)["probabilities"]
        if not np.allclose(got, want, rtol=1e-5, atol=1e-6):
            return f"the {label} model does not compute what old_opset_classifier(opset=7) computes: upgrade that model."
    if not isinstance(same, (bool, np.bool_)):
        return "the third item is True or False."
    if bool(same) != ([n.op_type for n in one.graph.node] == [n.op_type for n in two.graph.node]):
        return "compare the two lists of node op_types again."
    return None
