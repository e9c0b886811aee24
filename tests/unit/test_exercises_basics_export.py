"""helpers.exercises.basics_export: every check of notebooks 00, 01, 10, 11 and 12 refuses a wrong answer with a hint."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import exercises
from helpers.parameters import check_parameter

RNG = np.random.default_rng(0)


def _refused(exercise_id, answer, hint, **context):
    feedback = exercises.check(exercise_id, answer, **context)
    assert not feedback and hint in feedback.message, (exercise_id, feedback.message)


def _linear(tmp_path, name, W, *, input_shape, opset=17, external=False):
    """A file computing softmax(flatten(x) @ W), input ``image`` of ``input_shape``, output ``probabilities``."""
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["image"], ["flat"]), helper.make_node("MatMul", ["flat", "W"], ["scores"]),
         helper.make_node("Softmax", ["scores"], ["probabilities"], axis=-1)], name,
        inputs=[helper.make_tensor_value_info("image", TensorProto.FLOAT, input_shape)],
        outputs=[helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", W.shape[1]])],
        initializer=[numpy_helper.from_array(W, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, path, save_as_external_data=external, location=f"{name}.onnx.data", size_threshold=0)
    return path


@pytest.fixture(scope="module")
def images():
    X = RNG.random((6, 1, 8, 8), dtype=np.float32)
    W = RNG.normal(size=(64, 10)).astype(np.float32)
    scores = X.reshape(6, -1) @ W
    probs = np.exp(scores - scores.max(1, keepdims=True))
    return X, W, probs / probs.sum(1, keepdims=True)


def test_0_1_and_0_2_refuse_wrong_sets_and_parameters(tmp_path):
    from helpers.environment import package_versions

    main = package_versions(["numpy", "onnx", "onnxruntime"])
    legacy = {"numpy": "1.23.5", "onnx": main["onnx"], "onnxruntime": main["onnxruntime"]}
    assert exercises.check("0.1", {"numpy"}, legacy=legacy)
    _refused("0.1", {"numpy", "onnx"}, "not this set", legacy=legacy)
    _refused("0.1", {"numpy", "torch"}, "drop ['torch']", legacy=legacy)
    _refused("0.1", "numpy", "set of package names", legacy=legacy)

    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("quick = False  # q\nopset = 21  # o")]
    nb.cells[0].metadata["tags"] = ["parameters"]
    path = tmp_path / "01_demo.ipynb"
    nbformat.write(nb, path)
    assert exercises.check("0.2", {"quick": False, "opset": 21}, notebook=path)
    _refused("0.2", {"quick": False}, "names are not the parameters cell's", notebook=path)
    _refused("0.2", {"quick": "False", "opset": "21"}, "not strings", notebook=path)
    _refused("0.2", [("quick", False)], "answer a dict", notebook=path)


def _softmax_model(opset):
    graph = helper.make_graph([helper.make_node("Softmax", ["x"], ["y"], axis=1)], "s",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def test_1_1_tells_opset_13_from_opset_11():
    import onnxruntime as ort

    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 10
    run = {o: ort.InferenceSession(_softmax_model(o).SerializeToString(), providers=["CPUExecutionProvider"])
           .run(None, {"x": x})[0] for o in (11, 13)}
    assert exercises.check("1.1", run[11], x=x)
    _refused("1.1", run[13], "opset 13's Softmax", x=x)
    _refused("1.1", x, "not the output of a Softmax", x=x)
    _refused("1.1", run[11][0], "shape (2, 3, 4)", x=x)


def _iris_like(double):
    W = RNG.normal(size=(4, 3)).astype(np.float32)
    b = RNG.normal(size=3).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["input", "W"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["scores"])]
    init = [numpy_helper.from_array(W, "W"), numpy_helper.from_array(b, "b")]
    softmax_in = "scores"
    if double:
        nodes.append(helper.make_node("Mul", ["scores", "two"], ["scores2"]))
        init.append(numpy_helper.from_array(np.array(double, np.float32), "two"))
        softmax_in = "scores2"
    nodes += [helper.make_node("Softmax", [softmax_in], ["probabilities"], axis=-1),
              helper.make_node("ArgMax", ["scores"], ["label"], axis=1, keepdims=0)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 4])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 3]),
                               helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"])], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, W, b


def test_1_2_wants_the_doubled_scores():
    X = RNG.normal(size=(20, 4)).astype(np.float32)
    model, W, b = _iris_like(2)
    assert exercises.check("1.2", model, X=X, W=W, b=b)
    thrice, W3, b3 = _iris_like(3)
    _refused("1.2", thrice, "not softmax(2 * scores)", X=X, W=W3, b=b3)
    plain, Wp, bp = _iris_like(0)
    _refused("1.2", plain, "no Mul node", X=X, W=Wp, b=bp)
    _refused("1.2", "model.onnx", "answer the ModelProto", X=X, W=W, b=b)


def test_10_1_wants_one_file_that_matches(tmp_path, images):
    X, W, probs = images
    single = _linear(tmp_path, "single", W, input_shape=["batch", 1, 8, 8])
    split = _linear(tmp_path, "split", W, input_shape=["batch", 1, 8, 8], external=True)
    other = _linear(tmp_path, "other", W[:, ::-1].copy(), input_shape=["batch", 1, 8, 8])
    assert exercises.check("10.1", single, X=X, logits=probs)
    _refused("10.1", split, "external_data=False", X=X, logits=probs)
    _refused("10.1", other, "does not compute the notebook's logits", X=X, logits=probs)
    _refused("10.1", tmp_path / "missing.onnx", "answer the path", X=X, logits=probs)


def test_10_2_wants_an_if_that_rescales(tmp_path, images):
    X, W, probs = images
    plain = _linear(tmp_path, "plain", W, input_shape=["batch", 1, 8, 8])
    _refused("10.2", plain, "no If node", X=X, logits=probs)
    _refused("10.2", 42, "answer the path", X=X, logits=probs)


def test_10_3_wants_the_refusal_with_its_advice():
    with pytest.raises(ValueError) as right:
        check_parameter("opset", 17, low=18, high=23, why="below 18 use the TorchScript exporter")
    assert exercises.check("10.3", right.value)
    with pytest.raises(ValueError) as bare:
        check_parameter("opset", 17, low=18, high=23)
    _refused("10.3", bare.value, "what to do instead")
    with pytest.raises(ValueError) as other:
        check_parameter("opset", 5, low=18, high=23, why="use the TorchScript exporter")
    _refused("10.3", other.value, "not the refusal of opset=17")
    _refused("10.3", str(right.value), "the exception itself")
    _refused("10.3", KeyError("opset"), "raises ValueError")


def test_11_1_and_11_2_want_the_layout_and_the_opset(tmp_path, images):
    X, W, probs = images
    nhwc = X.transpose(0, 2, 3, 1)
    W_nhwc = W  # one channel: flattening NCHW and NHWC gives the same order
    nchw_file = _linear(tmp_path, "nchw", W, input_shape=["batch", 1, 8, 8])
    nhwc_file = _linear(tmp_path, "nhwc", W_nhwc, input_shape=["batch", 8, 8, 1])
    assert exercises.check("11.1", nchw_file, X_nchw=X, probabilities=probs)
    _refused("11.1", nhwc_file, "not NCHW", X_nchw=X, probabilities=probs)
    _refused("11.1", str(nchw_file).replace(".onnx", ".keras"), "answer the path", X_nchw=X, probabilities=probs)

    at13 = _linear(tmp_path, "at13", W_nhwc, input_shape=["batch", 8, 8, 1], opset=13)
    assert exercises.check("11.2", at13, X=nhwc, probabilities=probs)
    _refused("11.2", nhwc_file, "declares opset 17", X=nhwc, probabilities=probs)
    wrong13 = _linear(tmp_path, "wrong13", W[:, ::-1].copy(), input_shape=["batch", 8, 8, 1], opset=13)
    _refused("11.2", wrong13, "does not give the functional model's probabilities", X=nhwc, probabilities=probs)


@pytest.fixture(scope="module")
def churn_pipeline():
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from helpers import data

    churn = data.load_churn()
    numeric = ["tenure_months", "monthly_charges", "support_calls", "senior"]
    categorical = ["contract", "payment_method", "internet"]
    prepare = ColumnTransformer([("numeric", StandardScaler(), numeric),
                                 ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical)])
    pipe = Pipeline([("prepare", prepare), ("classifier", LogisticRegression(max_iter=1000))])
    return churn, pipe.fit(churn.X_train, churn.y_train)


def test_12_1_wants_a_converted_forest(churn_pipeline):
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    churn, pipe = churn_pipeline
    _refused("12.1", pipe, "answer a pair", X_test=churn.X_test, feed={})
    _refused("12.1", (pipe, "churn.onnx"), "not a RandomForestClassifier", X_test=churn.X_test, feed={})

    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline

    X = churn.X_test[["tenure_months", "monthly_charges"]].to_numpy(np.float32)
    forest = make_pipeline(RandomForestClassifier(n_estimators=5, random_state=0)).fit(X, churn.y_test)
    onx = to_onnx(forest, initial_types=[("X", FloatTensorType([None, 2]))], target_opset=17)
    assert exercises.check("12.1", (forest, onx), X_test=X, feed={"X": X})
    flipped = make_pipeline(RandomForestClassifier(n_estimators=5, random_state=0)).fit(X, 1 - churn.y_test)
    _refused("12.1", (flipped, onx), "of the ONNX labels equal the pipeline's", X_test=X, feed={"X": X})


def test_12_2_wants_the_unseen_category_probabilities(churn_pipeline):
    churn, pipe = churn_pipeline
    row = churn.X_test.iloc[:1]
    unseen = row.copy()
    unseen["contract"] = "ten-year"
    assert exercises.check("12.2", pipe.predict_proba(unseen), pipe=pipe, row=row)
    _refused("12.2", pipe.predict_proba(row), "original row", pipe=pipe, row=row)
    _refused("12.2", pipe.predict_proba(unseen)[:, ::-1], "not the probabilities of the row", pipe=pipe, row=row)
    _refused("12.2", 0.3, "shape (1, 2)", pipe=pipe, row=row)
