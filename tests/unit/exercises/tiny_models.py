"""Small models built in code for the exercise checks' tests of notebooks 30-50 (no training, no download)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def tiny_digits(folder: Path) -> tuple[Path, object, list[str]]:
    """A digits-shaped classifier (image [N, 1, 8, 8] -> logits [N, 10]) with labels in its metadata."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(0).normal(size=(64, 10)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["image"], ["flat"]), helper.make_node("MatMul", ["flat", "w"], ["logits"])],
        "tiny", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])], [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    labels = [f"digit {i}" for i in range(10)]
    helper.set_model_props(model, {"labels": json.dumps(labels)})
    path = Path(folder) / "tiny.onnx"
    onnx.save(model, path)
    return path, model, labels


def with_props(folder: Path, model, props: dict, name: str) -> Path:
    """A copy of ``model`` with its metadata replaced by ``props``, saved as ``folder/name``."""
    import copy

    import onnx

    m = copy.deepcopy(model)
    onnx.helper.set_model_props(m, props)
    path = Path(folder) / name
    onnx.save(m, path)
    return path


def tiny_encoder(folder: Path, vocab: int = 1000, width: int = 256, layers: int = 4) -> Path:
    """A MiniLM-shaped encoder (input_ids, attention_mask, token_type_ids [N, seq] -> hidden [N, seq, width]):
    an embedding table, then ``layers`` pairs of MatMuls with a ReLU between; slow enough (a fraction of a ms)
    for a timing to differ from a no-op's."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(size=(vocab, width)).astype(np.float32), "embedding")]
    nodes = [helper.make_node("Gather", ["embedding", "input_ids"], ["h0"]),
             helper.make_node("Cast", ["attention_mask"], ["m"], to=TensorProto.FLOAT),
             helper.make_node("Unsqueeze", ["m", "axis"], ["m3"]),
             helper.make_node("Mul", ["h0", "m3"], ["x0"])]
    inits.append(numpy_helper.from_array(np.array([-1], np.int64), "axis"))
    for i in range(layers):
        w1 = rng.normal(scale=width ** -0.5, size=(width, width)).astype(np.float32)
        w2 = rng.normal(scale=width ** -0.5, size=(width, width)).astype(np.float32)
        inits += [numpy_helper.from_array(w1, f"w1_{i}"), numpy_helper.from_array(w2, f"w2_{i}")]
        nodes += [helper.make_node("MatMul", [f"x{i}", f"w1_{i}"], [f"a{i}"]),
                  helper.make_node("Relu", [f"a{i}"], [f"r{i}"]),
                  helper.make_node("MatMul", [f"r{i}", f"w2_{i}"], [f"x{i + 1}"])]
    nodes.append(helper.make_node("Identity", [f"x{layers}"], ["last_hidden_state"]))
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
              for n in ("input_ids", "attention_mask", "token_type_ids")]
    graph = helper.make_graph(nodes, "encoder", inputs,
                              [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", width])],
                              inits)
    path = Path(folder) / "encoder.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def token_feeds(rows: int, seq: int, vocab: int = 1000, seed: int = 0) -> dict[str, np.ndarray]:
    """Random token ids with a few padded positions at the end of each row, named like MiniLM's inputs."""
    rng = np.random.default_rng(seed)
    mask = np.ones((rows, seq), np.int64)
    mask[:, seq - seq // 4:] = 0
    return {"input_ids": rng.integers(1, vocab, size=(rows, seq)).astype(np.int64) * mask, "attention_mask": mask,
            "token_type_ids": np.zeros((rows, seq), np.int64)}


class ListReader:
    """A CalibrationDataReader over a list of feeds (subclassing it is not needed for duck typing)."""

    def __init__(self, batches: list) -> None:
        self.batches = batches
        self.rewind()

    def get_next(self):
        return next(self._iter, None)

    def rewind(self) -> None:
        self._iter = iter(self.batches)
