"""Tiny ONNX models for the scoring script and local endpoint tests, built in code."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
LABELS = ["cat", "dog", "fish"]
TABLE = np.array([0.0, 1.0, 2.0, 3.0], dtype=np.float32)


def load_scoring():
    """deploy/onnx_scoring.py as a module (it ships beside score.py, outside the helpers package)."""
    if "onnx_scoring" in sys.modules:
        return sys.modules["onnx_scoring"]
    spec = importlib.util.spec_from_file_location("onnx_scoring", DEPLOY / "onnx_scoring.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["onnx_scoring"] = module
    spec.loader.exec_module(module)
    return module


def two_input_model(labels: list[str] | None = LABELS):
    """``scores = features + TABLE[count]``: inputs features float[batch, 3] and count int64[batch, 1].

    A ``count`` outside 0..3 passes the request checks (it is a valid int64) but makes Gather fail inside
    ONNX Runtime: the model's own bug, which the endpoint must answer with a 500 that leaks nothing.
    """
    import json

    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "count"], ["offset"], axis=0),
         helper.make_node("Add", ["features", "offset"], ["scores"])],
        "two_inputs",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 3]),
         helper.make_tensor_value_info("count", TensorProto.INT64, ["batch", 1])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", 3])],
        [numpy_helper.from_array(TABLE, "table")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="unit-test")
    model.ir_version = 8
    if labels:
        model.metadata_props.add(key="labels", value=json.dumps(labels))
    onnx.checker.check_model(model)
    return model


def two_input_reference(features: np.ndarray, count: np.ndarray) -> np.ndarray:
    """What :func:`two_input_model` computes (its scores), in numpy."""
    return (np.asarray(features, np.float32) + TABLE[np.asarray(count)]).astype(np.float32)


def regression_model():
    """``y = 2 * x``: one float[batch, 2] input and a float[batch] output, so no classes."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["y2"]), helper.make_node("ReduceSum", ["y2"], ["y"], axes=[1], keepdims=0)],
        "regression",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch"])],
        [numpy_helper.from_array(np.array([2.0], np.float32), "two")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)], producer_name="unit-test")
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


def save(model, folder: Path, layout: str = "nested") -> Path:
    """Save ``model`` as Azure lays it out (``folder/name/1/model.onnx``) or flat (``folder/model.onnx``)."""
    import onnx

    path = folder / "toy" / "1" / "model.onnx" if layout == "nested" else folder / "model.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def fuzz_model(labels: list[str] | None = LABELS):
    """A model that answers every request its OpenAPI schema allows: the fuzzer's target.

    Inputs features float[batch, 3], count int64[batch, 1] and tokens int64[batch, seq] (a free
    sequence axis); ``scores = tanh(features) + tanh(count) + tanh(sum(tokens))``, finite for any finite
    input.
    """
    import json

    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Tanh", ["features"], ["f"]),
         helper.make_node("Cast", ["count"], ["count_f"], to=TensorProto.FLOAT),
         helper.make_node("Tanh", ["count_f"], ["c"]),
         helper.make_node("Cast", ["tokens"], ["tokens_f"], to=TensorProto.FLOAT),
         helper.make_node("ReduceSum", ["tokens_f"], ["t_sum"], keepdims=1),
         helper.make_node("Tanh", ["t_sum"], ["t"]),
         helper.make_node("Add", ["f", "c"], ["fc"]),
         helper.make_node("Add", ["fc", "t"], ["scores"])],
        "fuzz_target",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 3]),
         helper.make_tensor_value_info("count", TensorProto.INT64, ["batch", 1]),
         helper.make_tensor_value_info("tokens", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", 3])],
    )
    graph.node[4].input.append("axes")
    graph.initializer.append(helper.make_tensor("axes", TensorProto.INT64, [1], [1]))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="unit-test")
    model.ir_version = 8
    if labels:
        model.metadata_props.add(key="labels", value=json.dumps(labels))
    onnx.checker.check_model(model)
    return model


def identity_model(elem_type: int | None = None, shape: list | None = None, value_info=None):
    """``y = x`` for one input: a tensor of ``elem_type`` with ``shape``, or any ``value_info`` (a sequence,
    a map). Used to show which input types the scoring code refuses at load time."""
    import onnx
    from onnx import TensorProto, helper

    shape = ["batch", 2] if shape is None else shape
    x = value_info or helper.make_tensor_value_info("x", elem_type, shape)
    y = onnx.ValueInfoProto()
    y.CopyFrom(x)
    y.name = "y"
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="unit-test")
    model.ir_version = 8
    _ = TensorProto
    return model


def zipmap_model(classes: list[str] | None = None):
    """A scikit-learn logistic regression converted with skl2onnx's defaults: its probabilities output is
    a ZipMap, a sequence of maps {class: probability}. classes: string class names instead of 0, 1, 2.
    Returns (model, X, fitted estimator)."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    if classes:
        y = np.array(classes)[y]
    clf = LogisticRegression(max_iter=200).fit(X, y)
    return to_onnx(clf, X[:1], target_opset={"": 17, "ai.onnx.ml": 3}), X, clf


def map_input_model():
    """A model whose input is a map (int64 -> double), read by ai.onnx.ml's DictVectorizer."""
    from onnx import TensorProto, helper

    x = helper.make_value_info("x", helper.make_map_type_proto(TensorProto.INT64,
                                                                helper.make_tensor_type_proto(TensorProto.DOUBLE, [])))
    graph = helper.make_graph([helper.make_node("DictVectorizer", ["x"], ["y"], domain="ai.onnx.ml",
                                                int64_vocabulary=[0, 1])], "map_input", [x],
                              [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [1, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)],
                              producer_name="unit-test")
    model.ir_version = 8
    return model


def v2_specs(model_dir, out_dir, endpoint_name="digits-onnx", instance_type="Standard_DS2_v2", instance_count=1):
    """Notebook 41's four SDK v2 objects (built offline, as its cells build them) for ``model_dir``."""
    from azure.ai.ml.entities import (
        CodeConfiguration,
        Environment,
        ManagedOnlineDeployment,
        ManagedOnlineEndpoint,
        Model,
        OnlineRequestSettings,
        ProbeSettings,
    )

    from helpers import azure

    conda = azure.write_conda_file(Path(out_dir) / "conda.yml")
    model = Model(name="digits-cnn", version="1", path=str(model_dir), type="custom_model")
    environment = Environment(name="onnx-endpoint", version="1", image=azure.BASE_IMAGE, conda_file=str(conda))
    endpoint = ManagedOnlineEndpoint(name=endpoint_name, auth_mode="key")
    deployment = ManagedOnlineDeployment(
        name="blue", endpoint_name=endpoint_name, model=model, environment=environment,
        code_configuration=CodeConfiguration(code=str(DEPLOY), scoring_script="score.py"),
        instance_type=instance_type, instance_count=instance_count,
        environment_variables={"MAX_BATCH": "64", "ORT_THREADS": "1", "WORKER_COUNT": "2"},
        liveness_probe=ProbeSettings(initial_delay=10, period=10, timeout=2, failure_threshold=30),
        readiness_probe=ProbeSettings(initial_delay=10, period=10, timeout=2, failure_threshold=3),
        request_settings=OnlineRequestSettings(request_timeout_ms=5000, max_concurrent_requests_per_instance=2,
                                               max_queue_wait_ms=500))
    return azure.V2Specs(model, environment, endpoint, deployment, conda)
