"""Checks of notebooks/14_export_coreml_libsvm.ipynb's exercises (exercises/nb14_export_coreml_libsvm.py): the right answer passes,
each shortcut a tired attendee takes is refused with a hint.
"""

from __future__ import annotations

import numpy as np
import pytest

import exercises
from tests.unit.exercises.graphs import refused as _refused


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


