"""The light Model Zoo models shipped in ``onnx/backend/test/data/light/`` (ResNet-50, SqueezeNet, ...: weights made
by ``ConstantOfShape`` at load time), each with reference outputs: run and checked offline in notebook 21.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: How parity records name the source of these models' expected outputs.
ZOO_FRAMEWORK = "onnx model zoo (light)"


@dataclass
class LightModel:
    """One light model: its file, reference outputs and onnx's test tolerances."""

    name: str
    path: Path
    references: list[Path]
    rtol: float = 1e-3
    atol: float = 1e-7

    @property
    def size_kib(self) -> float:
        """The file's size in KiB (without the weights, made at load time)."""
        return self.path.stat().st_size / 1024


def light_models() -> list[LightModel]:
    """Every light model in the installed onnx package, by name, with the tolerances onnx's tests use."""
    import onnx

    data = Path(onnx.__file__).parent / "backend" / "test" / "data"
    found = []
    for path in sorted((data / "light").glob("light_*.onnx")):
        name = path.stem.removeprefix("light_")
        spec = data / "real" / f"test_{name}" / "data.json"
        tol = json.loads(spec.read_text(encoding="utf-8")) if spec.exists() else {}
        found.append(LightModel(name, path, sorted(path.parent.glob(f"light_{name}_output_*.pb")),
                                float(tol.get("rtol", 1e-3)), float(tol.get("atol", 1e-7))))
    return found


def light_model(name: str) -> LightModel:
    """The light model called ``name`` (e.g. ``"resnet50"``); the error lists the available ones."""
    models = {m.name: m for m in light_models()}
    if name not in models:
        raise KeyError(f"No light model {name!r}; the onnx package ships: {', '.join(sorted(models))}.")
    return models[name]


def dummy_inputs(model: Any) -> dict[str, np.ndarray]:
    """A ramp ``arange(n) / n`` per float input (unknown dimensions 1), as onnx's backend test runner feeds.

    model: a path, :class:`LightModel` or ``ModelProto``.
    """
    import onnx

    from helpers.inspect import load_model

    proto = load_model(model.path if isinstance(model, LightModel) else model, load_external_data=False)
    inits = {t.name for t in proto.graph.initializer}
    feeds = {}
    for x in (x for x in proto.graph.input if x.name not in inits):
        if x.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
            raise NotImplementedError(f"Input {x.name!r} is not float32; onnx's runner only makes float dummies.")
        shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in x.type.tensor_type.shape.dim)
        n = np.prod(shape)
        feeds[x.name] = (np.arange(n).reshape(shape) / n).astype(np.float32)
    return feeds


def reference_outputs(model: LightModel) -> list[np.ndarray]:
    """The reference outputs shipped beside the model, in output order."""
    import onnx
    from onnx import numpy_helper

    return [numpy_helper.to_array(onnx.load_tensor(str(p))) for p in model.references]


def check_light_model(model: LightModel | str, *, record: bool = True) -> Any:
    """Run a light model in ONNX Runtime on :func:`dummy_inputs`, compare with its shipped reference, record it."""
    import onnx

    from helpers.verify import check_conversion

    light = light_model(model) if isinstance(model, str) else model
    return check_conversion(
        light.path, dummy_inputs(light), reference_outputs(light), name=f"{light.name} (light)",
        framework=ZOO_FRAMEWORK, framework_version=onnx.__version__, converter="onnx backend test data",
        converter_version=onnx.__version__, rtol=light.rtol, atol=light.atol, record=record,
    )


def time_model(model: Any, inputs: dict[str, np.ndarray], runs: int = 5) -> dict[str, float]:
    """Seconds to create a default ONNX Runtime session for ``model`` (path or :class:`LightModel`), to run it
    once, and the median of ``runs`` more."""
    from helpers.benchmark import time_callable
    from helpers.runtime import make_session

    start = time.perf_counter()
    session = make_session(model.path if isinstance(model, LightModel) else model)
    loaded = time.perf_counter()
    session.run(None, inputs)
    first = time.perf_counter()
    median_ms = time_callable(lambda: session.run(None, inputs), warmup=0, repeats=max(1, runs)).median
    return {"session_s": loaded - start, "first_run_s": first - loaded, "median_run_s": median_ms / 1e3}


def intermediate_parity(model: Any, inputs: dict[str, np.ndarray], *, name: str, rtol: float = 1e-4,
                        atol: float = 1e-5, record: bool = True) -> Any:
    """Compare every float intermediate tensor of ONNX Runtime with ``onnx.reference``'s (slow: use a small model).

    Each node output becomes a graph output, so ONNX Runtime cannot fuse it away.
    """
    import onnx
    from onnx.reference import ReferenceEvaluator

    from helpers.inspect import load_model
    from helpers.verify import check_conversion

    proto = load_model(model.path if isinstance(model, LightModel) else model)
    reference = ReferenceEvaluator(proto)
    names = [o for node in proto.graph.node for o in node.output if o]
    expected = dict(zip(names, reference.run(names, inputs)))
    expected = {k: v for k, v in expected.items() if isinstance(v, np.ndarray) and v.dtype.kind == "f"}
    exposed = onnx.ModelProto()
    exposed.CopyFrom(proto)
    declared = {o.name for o in exposed.graph.output}
    exposed.graph.output.extend(onnx.helper.make_empty_tensor_value_info(t) for t in expected if t not in declared)
    return check_conversion(
        exposed, inputs, expected, name=name, framework="onnx.reference", framework_version=onnx.__version__,
        converter="none (same file)", converter_version=onnx.__version__, output_names=list(expected),
        rtol=rtol, atol=atol, record=record,
    )

