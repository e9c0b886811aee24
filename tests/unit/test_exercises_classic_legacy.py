"""The checks of notebooks 13-17's exercises (exercises/) refuse wrong answers.

Runs in the main kernel: the Chainer and MXNet checks are fed wrong answers made with onnx and numpy only.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import exercises


def _refused(feedback, hint):
    assert not feedback, str(feedback)
    assert hint in feedback.message, feedback.message


def _model(nodes, opset, inputs, outputs, initializers=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def _value(name, elem=TensorProto.FLOAT, shape=("batch", 4)):
    return helper.make_tensor_value_info(name, elem, list(shape))


# --- 13 --------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trees():
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    X = X.astype(np.float32)
    return X[:200], y[:200], X[200:], y[200:]


def test_13_1_counts_the_thresholds_that_move(trees):
    from lightgbm import LGBMClassifier

    from helpers.classic import split_thresholds

    X_train, y_train, _, _ = trees
    coarse = LGBMClassifier(n_estimators=10, num_leaves=7, max_bin=15, verbose=-1).fit(X_train, y_train)
    t = split_thresholds(coarse)
    moved, total = sum(int((v.astype(np.float32) != v).sum()) for v in t.values()), sum(map(len, t.values()))
    assert exercises.check("13.1", (coarse, moved), X_train=X_train)
    default = LGBMClassifier(n_estimators=10, num_leaves=7, verbose=-1).fit(X_train, y_train)
    _refused(exercises.check("13.1", (default, moved), X_train=X_train), "max_bin=15")
    _refused(exercises.check("13.1", moved, X_train=X_train), "tuple of 2")
    _refused(exercises.check("13.1", (coarse, moved + 1), X_train=X_train), "not this model's count")
    _refused(exercises.check("13.1", (coarse, float(moved)), X_train=X_train), "whole number")
    if total != moved:
        _refused(exercises.check("13.1", (coarse, total), X_train=X_train), "counts every threshold")


def _float64_front(onx):
    """The model behind a Cast from a float64 input: takes float64 rows as the notebook's float64 remedy does."""
    model = onnx.ModelProto.FromString(onx.SerializeToString())
    old = model.graph.input[0]
    wide = helper.make_tensor_value_info("input64", TensorProto.DOUBLE, [None, old.type.tensor_type.shape.dim[1].dim_value])
    model.graph.node.insert(0, helper.make_node("Cast", ["input64"], [old.name], to=TensorProto.FLOAT))
    del model.graph.input[:]
    model.graph.input.append(wide)
    return model


def test_13_2_compares_the_shares_with_its_own(trees, tmp_path):
    import onnxmltools
    from lightgbm import LGBMClassifier
    from onnxmltools.convert.common.data_types import FloatTensorType

    from helpers.classic import rows_outside_tolerance
    from helpers.verify import run_onnx

    X_train, y_train, X_test, _ = trees
    model = LGBMClassifier(n_estimators=10, num_leaves=7, verbose=-1).fit(X_train, y_train)
    onx = onnxmltools.convert_lightgbm(model, initial_types=[("input", FloatTensorType([None, 5]))], target_opset=15,
                                       zipmap=False)
    rounded, wide = tmp_path / "rounded.onnx", tmp_path / "wide.onnx"
    onnx.save(onx, rounded)
    onnx.save(_float64_front(onx), wide)
    context = dict(model=model, X_test=X_test, float64_path=wide, rounded_path=rounded)
    X64 = X_test.astype(np.float64) + 1e-9
    want = model.predict_proba(X64)
    right = {"float64 thresholds": rows_outside_tolerance(want, run_onnx(wide, [X64])["probabilities"]),
             "float32 thresholds rounded down": rows_outside_tolerance(want, run_onnx(rounded, [X64.astype(np.float32)])["probabilities"])}
    assert exercises.check("13.2", right, **context)
    _refused(exercises.check("13.2", {"float64": 0.0}, **context), "keys")
    _refused(exercises.check("13.2", dict.fromkeys(right, 2.0), **context), "between 0 and 1")
    _refused(exercises.check("13.2", {k: v + 0.25 for k, v in right.items()}, **context), "not the share measured")


def test_13_3_wants_float64_scaling_cast_once_and_the_same_rows(trees):
    from sklearn.preprocessing import StandardScaler
    from xgboost import XGBClassifier

    X_train, y_train, X_test, _ = trees
    scaler = StandardScaler().fit(X_train.astype(np.float64))
    X_tr, X_te = (scaler.transform(X.astype(np.float64)).astype(np.float32) for X in (X_train, X_test))
    model = XGBClassifier(n_estimators=10, max_depth=3).fit(X_tr, y_train)
    context = dict(X_train=X_train, X_test=X_test, target_opset=15)
    assert exercises.check("13.3", (model, X_te), **context)
    _refused(exercises.check("13.3", (model, X_te.astype(np.float64)), **context), "cast the float64 scaled values")
    _refused(exercises.check("13.3", (model, X_test), **context), "not the test rows scaled")
    _refused(exercises.check("13.3", ("xgb", X_te), **context), "XGBClassifier")
    _refused(exercises.check("13.3", model, **context), "tuple of 2")


# --- 14 --------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def libsvm_iris():
    from helpers import data
    from helpers import workarounds as wa

    wa.patch_onnxmltools()
    wa.patch_libsvm()
    import svmutil

    iris = data.load_iris()
    shuffle = np.random.RandomState(1).permutation(len(iris.y_train))
    return iris, iris.X_train[shuffle].astype(np.float64), iris.y_train[shuffle], svmutil


def _convert(svm, fix=False):
    from onnxmltools.convert import convert_libsvm
    from onnxmltools.convert.common.data_types import FloatTensorType

    from helpers import workarounds as wa

    onx = convert_libsvm(svm, "svc", initial_types=[("input", FloatTensorType([None, 4]))], target_opset=15)
    return wa.fix_libsvm_class_labels(onx, svm) if fix else onx


def test_14_1_wants_probabilities_fixed_labels_and_the_true_agreement(libsvm_iris):
    from helpers.verify import run_onnx

    iris, X, y, svmutil = libsvm_iris
    prob = svmutil.svm_train(y.astype(np.float64), X, "-s 0 -t 2 -c 1 -b 1 -q")
    plain = svmutil.svm_train(y.astype(np.float64), X, "-s 0 -t 2 -c 1 -q")
    labels = np.asarray(svmutil.svm_predict(np.zeros(len(iris.X_test)), iris.X_test.astype(np.float64), prob, "-b 1 -q")[0])
    fixed = _convert(prob, fix=True)
    agreement = float(np.mean(run_onnx(fixed, {"input": iris.X_test})["label"].ravel() == labels))
    assert exercises.check("14.1", (prob, fixed, agreement), X=iris.X_test)
    _refused(exercises.check("14.1", (plain, _convert(plain, fix=True), 1.0), X=iris.X_test), "-b 1")
    _refused(exercises.check("14.1", (prob, _convert(prob), agreement), X=iris.X_test), "class-order bug")
    _refused(exercises.check("14.1", (prob, fixed, agreement - 0.5), X=iris.X_test), "label agreement")
    _refused(exercises.check("14.1", (prob, fixed), X=iris.X_test), "tuple of 3")


def test_14_2_wants_labels_first_seen_in_ascending_order(libsvm_iris):
    iris, X, y, svmutil = libsvm_iris
    firsts = [int(np.flatnonzero(y == c)[0]) for c in (0, 1, 2)]
    order = np.concatenate([firsts, np.setdiff1d(np.arange(len(y)), firsts)])
    ordered = svmutil.svm_train(y[order].astype(np.float64), X[order], "-s 0 -t 2 -c 1 -q")
    shuffled = svmutil.svm_train(y.astype(np.float64), X, "-s 0 -t 2 -c 1 -q")
    assert exercises.check("14.2", (ordered, _convert(ordered)), X=iris.X_test)
    _refused(exercises.check("14.2", (shuffled, _convert(shuffled)), X=iris.X_test), "class order is [2, 1, 0]")
    _refused(exercises.check("14.2", (ordered, _convert(shuffled)), X=iris.X_test), "of ONNX's labels equal LIBSVM's")
    _refused(exercises.check("14.2", ("model", _convert(ordered)), X=iris.X_test), "svmutil.svm_train")


# --- 15 (Chainer's answers, imitated) ------------------------------------------------------------------------------

WARNING = ("ONNX-Chainer has been tested only with opset_version 7 ~ 11The ONNX file exported with your requested "
           "opset_version (6) may cause some problems")
ORT_ERROR = RuntimeError("[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Could not find an implementation for Gemm(6) node")


def test_15_1_wants_the_warning_and_the_runtime_error():
    assert exercises.check("15.1", (WARNING, ORT_ERROR))
    _refused(exercises.check("15.1", ("DeprecationWarning: Exporting ONNX without testcases", ORT_ERROR)),
             "not onnx_chainer's warning")
    _refused(exercises.check("15.1", (WARNING, str(ORT_ERROR))), "exception ONNX Runtime raised")
    _refused(exercises.check("15.1", (WARNING, ValueError("bad input"))), "not the error of loading")
    _refused(exercises.check("15.1", WARNING), "tuple of 2")


def _reshape_model(first_dim):
    shape = helper.make_node("Constant", [], ["shape"], value=helper.make_tensor("s", TensorProto.INT64, [2], [first_dim, 64]))
    reshape = helper.make_node("Reshape", ["image", "shape"], ["logits"])
    return _model([shape, reshape], 11, [_value("image", shape=("batch", 1, 8, 8))], [_value("logits", shape=(None, 64))])


def test_15_2_wants_the_fixed_batch_reshape_and_the_true_verdict(tmp_path):
    fixed, free = tmp_path / "fixed.onnx", tmp_path / "free.onnx"
    onnx.save(_reshape_model(1), fixed)
    onnx.save(_reshape_model(-1), free)
    X = np.zeros((10, 1, 8, 8), np.float32)
    assert exercises.check("15.2", (fixed, False), X=X)
    _refused(exercises.check("15.2", (fixed, True), X=X), "run it")
    _refused(exercises.check("15.2", (free, True), X=X), "keeps the batch free")
    _refused(exercises.check("15.2", (fixed, "no"), X=X), "True or False")
    _refused(exercises.check("15.2", fixed, X=X), "tuple of 2")


# --- 16 (MXNet's answers, imitated) --------------------------------------------------------------------------------

def _ops_model(ops, opset):
    nodes = [helper.make_node(op, [f"t{i}"], [f"t{i + 1}"]) for i, op in enumerate(ops)]
    return _model(nodes, opset, [_value("t0")], [_value(f"t{len(ops)}", shape=("batch", None))])


def test_16_1_wants_the_new_operator(tmp_path):
    reference, same, bn = tmp_path / "ref.onnx", tmp_path / "same.onnx", tmp_path / "bn.onnx"
    onnx.save(_ops_model(["Relu", "Flatten"], 13), reference)
    onnx.save(_ops_model(["Relu", "Flatten"], 13), same)
    onnx.save(_ops_model(["Relu", "Sigmoid", "Flatten"], 13), bn)  # any new operator will do here
    X = np.zeros((3, 4), np.float32)
    _refused(exercises.check("16.1", (None, same, "BatchNormalization"), X=X, reference=reference), "no operator the original lacks")
    _refused(exercises.check("16.1", (None, bn, "Relu"), X=X, reference=reference), "already in the original")
    _refused(exercises.check("16.1", (None, bn), X=X, reference=reference), "tuple of 3")


def test_16_2_wants_the_other_opset_and_the_changed_definitions(tmp_path):
    at13, at12 = tmp_path / "13.onnx", tmp_path / "12.onnx"
    onnx.save(_ops_model(["Relu", "MaxPool", "Flatten"], 13), at13)
    onnx.save(_ops_model(["Relu", "MaxPool", "Flatten"], 12), at12)
    assert exercises.check("16.2", (at12, {"Relu", "Flatten"}), reference=at13)
    _refused(exercises.check("16.2", (at12, {"Relu", "Flatten", "MaxPool"}), reference=at13), "definition version differs")
    _refused(exercises.check("16.2", (at13, {"Relu"}), reference=at13), "export at 12")
    _refused(exercises.check("16.2", (at12, "Relu"), reference=at13), "set of strings")


# --- 17 --------------------------------------------------------------------------------------------------------

def test_17_1_wants_the_upgraded_file_its_parity_and_the_moved_operators(tmp_path):
    from onnx import version_converter

    old = tmp_path / "old.onnx"
    onnx.save(_ops_model(["Relu", "Flatten"], 12), old)
    X = np.random.RandomState(0).randn(6, 4).astype(np.float32)
    export = SimpleNamespace(models=[SimpleNamespace(opset=12, path=old)], inputs={"t0": X}, outputs={"t2": np.maximum(X, 0)})
    upgraded = version_converter.convert_version(onnx.load(old), 21)
    assert exercises.check("17.1", (upgraded, {"Relu", "Flatten"}), export=export, target_opset=21)
    _refused(exercises.check("17.1", (upgraded, {"Relu"}), export=export, target_opset=21), "definition before/after")
    _refused(exercises.check("17.1", (onnx.load(old), set()), export=export, target_opset=21), "declares opset 12")
    negated = version_converter.convert_version(_ops_model(["Neg", "Flatten"], 12), 21)
    _refused(exercises.check("17.1", (negated, {"Neg", "Flatten"}), export=export, target_opset=21), "MXNet's logits")


def test_17_2_wants_both_upgrades_of_the_opset_7_model_and_the_true_comparison():
    from onnx import version_converter

    from helpers.opset import old_opset_classifier

    seven = old_opset_classifier(opset=7)
    one = version_converter.convert_version(seven, 21)
    two = version_converter.convert_version(version_converter.convert_version(seven, 13), 21)
    same = [n.op_type for n in one.graph.node] == [n.op_type for n in two.graph.node]
    assert exercises.check("17.2", (one, two, same), target_opset=21)
    _refused(exercises.check("17.2", (one, two, not same), target_opset=21), "compare the two lists")
    _refused(exercises.check("17.2", (seven, two, same), target_opset=21), "should end at target_opset")
    other = version_converter.convert_version(old_opset_classifier(opset=7, seed=1), 21)
    _refused(exercises.check("17.2", (one, other, same), target_opset=21), "two steps model does not compute")
    _refused(exercises.check("17.2", (one, two, "yes"), target_opset=21), "True or False")
