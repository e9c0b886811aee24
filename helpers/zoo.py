"""Model Zoo architectures that ship with the ``onnx`` package, run and checked offline.

The ONNX Model Zoo's GitHub repository is deprecated (its files moved to the Hugging Face repository
``onnxmodelzoo/legacy_models``) and ``onnx.hub`` is gone from onnx 1.23. The ``onnx`` package itself
still ships "light" copies of nine Zoo architectures in ``onnx/backend/test/data/light/``: the real
graphs (ResNet-50, SqueezeNet, DenseNet-121, ...) whose weights are generated at load time by
``ConstantOfShape`` nodes, each with a reference output ``*_output_0.pb``. onnx's backend test runner
computes those references for deterministic dummy inputs; :func:`dummy_inputs` makes the same inputs
(``Runner.generate_dummy_data(seed=0, random=False)`` in ``onnx/backend/test/runner/__init__.py``),
and :func:`check_light_model` runs a model in ONNX Runtime against its reference at the tolerances
onnx's own tests use (``data/real/test_<name>/data.json``). Introduced in
notebooks/21_pretrained_models.ipynb.

Example::

    from helpers.zoo import light_models
    [m.name for m in light_models()][:3]
    # ['bvlc_alexnet', 'densenet121', 'inception_v1']
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "LightModel",
    "light_data_dir",
    "light_models",
    "light_model",
    "dummy_inputs",
    "reference_outputs",
    "check_light_model",
    "time_model",
    "intermediate_parity",
    "ZOO_FRAMEWORK",
]

#: How parity records name the source of these models' expected outputs.
ZOO_FRAMEWORK = "onnx model zoo (light)"


@dataclass
class LightModel:
    """One light Model Zoo model shipped with onnx: its file, reference outputs and test tolerances."""

    name: str
    path: Path
    references: list[Path]
    rtol: float = 1e-3
    atol: float = 1e-7

    @property
    def size_kib(self) -> float:
        """The size of the ``.onnx`` file in KiB (the weights are generated when the model loads)."""
        return self.path.stat().st_size / 1024


def light_data_dir() -> Path:
    """``onnx/backend/test/data`` inside the installed onnx package (found without importing onnx)."""
    from importlib.util import find_spec

    spec = find_spec("onnx")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("The onnx package is not installed: pip install onnx.")
    folder = Path(next(iter(spec.submodule_search_locations))) / "backend" / "test" / "data"
    if not (folder / "light").is_dir():
        raise FileNotFoundError(
            f"{folder / 'light'} is missing: this onnx build ships no light Model Zoo models (onnx >= 1.15 does)."
        )
    return folder


def light_models() -> list[LightModel]:
    """Every light model in the installed onnx package, by name, with the tolerances onnx's tests use."""
    data = light_data_dir()
    found = []
    for path in sorted((data / "light").glob("light_*.onnx")):
        name = path.stem.removeprefix("light_")
        refs = sorted(path.parent.glob(f"light_{name}_output_*.pb"))
        tol: dict[str, Any] = {}
        spec = data / "real" / f"test_{name}" / "data.json"
        if spec.exists():
            tol = json.loads(spec.read_text(encoding="utf-8"))
        found.append(LightModel(name, path, refs, float(tol.get("rtol", 1e-3)), float(tol.get("atol", 1e-7))))
    return found


def light_model(name: str) -> LightModel:
    """The light model called ``name`` (e.g. ``"resnet50"``); the error lists the available ones."""
    models = {m.name: m for m in light_models()}
    if name not in models:
        raise KeyError(f"No light model {name!r}; the onnx package ships: {', '.join(sorted(models))}.")
    return models[name]


def dummy_inputs(model: Any) -> dict[str, np.ndarray]:
    """The inputs onnx's backend test runner feeds a light model: a ramp ``arange(n) / n`` per float input.

    Exactly ``Runner.generate_dummy_data(x, seed=0, random=False)``: unknown dimensions become 1,
    graph inputs that are initializers are skipped.
    model: a path, :class:`LightModel` or ``ModelProto``.
    """
    import onnx

    from helpers.inspect import load_model

    proto = load_model(model.path if isinstance(model, LightModel) else model, load_external_data=False)
    inits = {t.name for t in proto.graph.initializer}
    feeds = {}
    for x in proto.graph.input:
        if x.name in inits:
            continue
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
    """Run a light model in ONNX Runtime on :func:`dummy_inputs`; compare with its shipped reference.

    Records a parity entry (framework :data:`ZOO_FRAMEWORK`) unless ``record=False``; returns the
    :class:`helpers.verify.ParityResult`.
    """
    import onnx

    from helpers.verify import check_conversion

    light = light_model(model) if isinstance(model, str) else model
    if not light.references:
        raise FileNotFoundError(f"{light.path.name} has no reference output beside it.")
    return check_conversion(
        light.path, dummy_inputs(light), reference_outputs(light), name=f"{light.name} (light)",
        framework=ZOO_FRAMEWORK, framework_version=onnx.__version__, converter="onnx backend test data",
        converter_version=onnx.__version__, rtol=light.rtol, atol=light.atol, record=record,
    )


def time_model(model: Any, inputs: dict[str, np.ndarray], runs: int = 5) -> dict[str, float]:
    """Seconds to create an ONNX Runtime session, for the first run, and the median of ``runs`` more.

    model: a path or :class:`LightModel`. One thread pool per session, default settings.
    """
    import onnxruntime as ort

    path = model.path if isinstance(model, LightModel) else Path(model)
    start = time.perf_counter()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    loaded = time.perf_counter()
    session.run(None, inputs)
    first = time.perf_counter()
    times = []
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        session.run(None, inputs)
        times.append(time.perf_counter() - t0)
    return {"session_s": loaded - start, "first_run_s": first - loaded, "median_run_s": float(np.median(times))}


def intermediate_parity(model: Any, inputs: dict[str, np.ndarray], *, name: str, rtol: float = 1e-4,
                        atol: float = 1e-5, record: bool = True) -> Any:
    """Compare EVERY intermediate tensor of ONNX Runtime with ``onnx.reference.ReferenceEvaluator``'s.

    The reference evaluator is onnx's plain-numpy implementation of the operator specs, so it is an
    independent second opinion. Each node output becomes a graph output for ONNX Runtime (its
    optimizations then cannot fuse them away). Slow for big convolutions: use a small model.
    Returns the :class:`helpers.verify.ParityResult` over all tensors (float ones compared).
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
    for tensor in expected:
        if tensor not in declared:
            exposed.graph.output.append(onnx.helper.make_empty_tensor_value_info(tensor))
    return check_conversion(
        exposed, inputs, expected, name=name, framework="onnx.reference", framework_version=onnx.__version__,
        converter="none (same file)", converter_version=onnx.__version__, output_names=list(expected),
        rtol=rtol, atol=atol, record=record,
    )

