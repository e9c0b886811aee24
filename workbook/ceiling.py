"""The GFLOP/s ceiling of ``make benchmark``: the theoretical FMA peak and the best achieved GEMM, and a share of
it that can never pass 100% (a share above it means the ceiling is wrong, not that a model beat the hardware).

The theoretical peak is cores x float32 lanes x FMA instructions per cycle x 2 x clock; the clock and the FMAs per
cycle are measured with a few bytes of x86-64 machine code run through :mod:`ctypes` (published figures elsewhere).

>>> fma_peak_gflops(cores=2, lanes=16, fma_per_cycle=1, clock_ghz=3.0)
192.0
>>> Ceiling(theoretical_gflops=192.0, achieved_gflops=150.0).share(96.0)
0.5
"""

from __future__ import annotations

import ctypes
import mmap
import os
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from helpers.benchmark import time_callable
from helpers.environment import cpu_flags, cpu_model


class CeilingError(ValueError):
    """A measured rate came out above the ceiling: the ceiling (not the model) is wrong."""


def fma_peak_gflops(cores: int, lanes: int, fma_per_cycle: float, clock_ghz: float) -> float:
    """cores x lanes x FMA instructions per cycle x 2 FLOP x clock (GHz): GFLOP/s float32.

    >>> fma_peak_gflops(1, 8, 2, 1.0)
    32.0
    """
    for name, value in (("cores", cores), ("lanes", lanes), ("fma_per_cycle", fma_per_cycle), ("clock_ghz", clock_ghz)):
        if not value or value <= 0:
            raise ValueError(f"fma_peak_gflops needs a positive {name}; got {value!r}.")
    return float(cores * lanes * fma_per_cycle * 2 * clock_ghz)


@dataclass
class Ceiling:
    """The two ceilings (GFLOP/s) for one thread count, and how each was found."""

    theoretical_gflops: float
    achieved_gflops: float
    threads: int | None = None
    theoretical: dict[str, Any] = field(default_factory=dict)  # cores, lanes, FMA/cycle, clock, method
    gemm: list[dict[str, Any]] = field(default_factory=list)  # one row per library, size, threads

    @property
    def gflops(self) -> float:
        """The higher of the two: the limit every share is computed against."""
        return max(self.theoretical_gflops, self.achieved_gflops)

    @property
    def source(self) -> str:
        return "theoretical FMA peak" if self.theoretical_gflops >= self.achieved_gflops else "best achieved GEMM"

    def share(self, gflops: float, what: str = "a measured rate") -> float:
        """``gflops`` as a fraction of :attr:`gflops`; raises :class:`CeilingError` when it would pass 100%.

        >>> Ceiling(100.0, 80.0).share(120.0, "MiniLM")
        Traceback (most recent call last):
        ...
        workbook.ceiling.CeilingError: MiniLM reached 120.0 GFLOP/s, 120% of the ceiling of 100.0 GFLOP/s ...
        """
        return check_share(gflops, self.gflops, what,
                           f"{self.source}; theoretical {self.theoretical_gflops:.1f}, best GEMM {self.achieved_gflops:.1f}")

    def to_dict(self) -> dict[str, Any]:
        return {"threads": self.threads, "theoretical_gflops": self.theoretical_gflops,
                "achieved_gflops": self.achieved_gflops, "ceiling_gflops": self.gflops, "source": self.source,
                "theoretical": self.theoretical, "gemm": self.gemm}


def check_share(gflops: float, ceiling_gflops: float, what: str = "a measured rate", how: str = "") -> float:
    """``gflops / ceiling_gflops``; raises :class:`CeilingError` when the ceiling is missing or the share passes 100%.

    >>> check_share(50.0, 200.0)
    0.25
    """
    if not ceiling_gflops or not ceiling_gflops > 0:
        raise CeilingError(f"The ceiling is {ceiling_gflops!r} GFLOP/s; measure it (measure_ceiling) before sharing.")
    share = gflops / ceiling_gflops
    if share > 1.0:
        raise CeilingError(
            f"{what} reached {gflops:.1f} GFLOP/s, {share:.0%} of the ceiling of {ceiling_gflops:.1f} GFLOP/s"
            f"{f' ({how})' if how else ''}. A share above 100% means the ceiling is wrong (a clock measured low, FMA "
            "units or cores undercounted, or FLOPs overcounted): fix the ceiling instead of printing the share.")
    return share


# --- the CPU --------------------------------------------------------------------------------------------------

def physical_cores() -> int:
    """Physical cores this process may run on (SMT siblings share FMA units, so they count once)."""
    try:
        allowed = os.sched_getaffinity(0)
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
    cores, cpu, phys = set(), None, "0"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "processor":
                    cpu = int(value)
                elif key == "physical id":
                    phys = value
                elif key == "core id" and cpu in allowed:
                    cores.add((phys, value))
    except OSError:  # pragma: no cover
        pass
    return len(cores) or len(allowed)


def vector_lanes(flags: set[str] | None = None) -> int:
    """float32 lanes of the widest FMA vector the flags promise: 16 (avx512f), 8 (avx2 + fma), 4 (otherwise)."""
    flags = cpu_flags() if flags is None else flags
    return 16 if "avx512f" in flags else 8 if {"avx2", "fma"} <= flags else 4


#: FMA instructions per cycle per core at the widest width, by CPU model, when they cannot be measured (published
#: microarchitecture figures). Zen 4 runs a 512-bit FMA on its two 256-bit pipes: 1 per cycle at 16 lanes.
FMA_ASSUMPTIONS: tuple[tuple[str, int, int, str], ...] = (
    # (substring of the model name or family marker, lanes, FMA/cycle, why)
    ("EPYC 9", 16, 1, "AMD Zen 4 (Genoa): two 256-bit FMA pipes, a 512-bit FMA takes both"),
    ("EPYC 7", 8, 2, "AMD Zen 2/3 (Rome/Milan): two 256-bit FMA pipes, no AVX-512"),
    ("Xeon", 16, 2, "Intel Xeon Scalable with AVX-512: two 512-bit FMA units (some Silver/Bronze parts have one)"),
)


def _assumed_fma(cpu: str, flags: set[str]) -> tuple[int, int, str]:
    for marker, lanes, fma, why in FMA_ASSUMPTIONS:
        if marker in cpu and (lanes == 8 or "avx512f" in flags):
            return lanes, fma, f"assumed for '{marker}': {why}"
    lanes = vector_lanes(flags)
    return lanes, 2 if lanes >= 8 else 1, f"assumed: 2 FMA units at {lanes} lanes (typical; not measured)"


# --- micro-benchmarks in machine code -------------------------------------------------------------------------
# Assembled from (Intel syntax; System V: rdi = iterations):
#   add_chain: xor eax,eax; 1: 16 x `add rax,1` (each waits for the last: 1 per cycle); dec rdi; jnz 1b; ret
#   fma_ymm:   zero ymm0-11,14,15; 2: 12 x `vfmadd231ps ymmN, ymm14, ymm15` (independent); dec rdi; jnz 2b;
#              vzeroupper; ret
#   fma_zmm:   the same with zmm registers (EVEX), only run when the CPU has avx512f
_CODE = {
    "add_chain": (16, "31c0" + "4883c001" * 16 + "48ffcf75bbc3"),
    "fma_ymm": (12, "c5fdefc0c5f5efc9c5edefd2c5e5efdbc5ddefe4c5d5efedc5cdeff6c5c5efffc4413defc0c44135efc9c4412defd2"
                    "c44125efdbc4410deff6c44105efffc4c20db8c7c4c20db8cfc4c20db8d7c4c20db8dfc4c20db8e7c4c20db8efc4c20d"
                    "b8f7c4c20db8ffc4420db8c7c4420db8cfc4420db8d7c4420db8df48ffcf75bfc5f877c3"),
    "fma_zmm": (12, "62f17d48efc062f17548efc962f16d48efd262f16548efdb62f15d48efe462f15548efed62f14d48eff662f14548ef"
                    "ff62513d48efc062513548efc962512d48efd262512548efdb62510d48eff662510548efff62d20d48b8c762d20d48b8"
                    "cf62d20d48b8d762d20d48b8df62d20d48b8e762d20d48b8ef62d20d48b8f762d20d48b8ff62520d48b8c762520d48b8"
                    "cf62520d48b8d762520d48b8df48ffcf75b3c5f877c3"),
}
_LOADED: dict[str, Any] = {}


def _kernel(name: str) -> Callable[[int], Any]:
    """The machine-code loop ``name`` as a ctypes function of one int64 (iterations)."""
    if name in _LOADED:
        return _LOADED[name][0]
    if not (sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")):
        raise OSError(f"the micro-benchmarks are x86-64 Linux machine code; this is {sys.platform} {platform.machine()}")
    code = bytes.fromhex(_CODE[name][1])
    buf = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    buf.write(code)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    fn = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(addr)
    _LOADED[name] = (fn, buf)  # keep the mapping alive as long as the function
    return fn


def _best_rate(name: str, iterations: int, repeats: int) -> float:
    """Operations per second of loop ``name``: the fastest of ``repeats`` runs (the least disturbed by others)."""
    fn = _kernel(name)
    fn(1000)  # warm up
    best_ms = time_callable(lambda: fn(iterations), warmup=0, repeats=repeats).min
    return _CODE[name][0] * iterations / (best_ms / 1e3)


def measure_clock_ghz(iterations: int = 200_000, repeats: int = 30) -> float:
    """The core clock (GHz) while running: dependent adds per second (one add per cycle), best of ``repeats``."""
    return _best_rate("add_chain", iterations, repeats) / 1e9


def measure_fma_per_cycle(width: int = 512, clock_ghz: float | None = None, iterations: int = 100_000,
                          repeats: int = 30) -> float:
    """FMA instructions one core retires per cycle at ``width`` bits (256 or 512), measured (not rounded).

    Refuses a width the CPU lacks (the instruction would kill the process with SIGILL).
    """
    flags = cpu_flags()
    if width == 512 and "avx512f" not in flags or width == 256 and not {"avx2", "fma"} <= flags:
        raise ValueError(f"This CPU has no {width}-bit FMA (flags: avx512f={'avx512f' in flags}, "
                         f"fma={'fma' in flags}); measure a width it has.")
    if width not in (256, 512):
        raise ValueError(f"width must be 256 or 512; got {width}.")
    clock = clock_ghz or measure_clock_ghz()
    return _best_rate("fma_zmm" if width == 512 else "fma_ymm", iterations, repeats) / (clock * 1e9)


def theoretical_peak(threads: int | None = None, measure: bool = True) -> dict[str, Any]:
    """The FMA peak for ``threads`` threads (default: every physical core), with every factor and how it was found.

    measure: run the micro-benchmarks (``False``: the CPU model's published figures and /proc's clock label).
    """
    flags, cpu = cpu_flags(), cpu_model()
    n_cores = physical_cores()
    cores = min(threads, n_cores) if threads else n_cores
    out: dict[str, Any] = {"cpu": cpu, "physical_cores": n_cores, "cores": cores}
    try:
        if not measure:
            raise OSError("measurement not requested")
        clock = measure_clock_ghz()
        widths = {w: measure_fma_per_cycle(w, clock) for w, lanes in ((256, 8), (512, 16))
                  if (w == 512 and "avx512f" in flags) or (w == 256 and {"avx2", "fma"} <= flags)}
        if not widths:
            raise OSError("no AVX2/AVX-512 FMA to measure")
        per_width = {w: (w // 32, max(1, round(rate))) for w, rate in widths.items()}
        width = max(per_width, key=lambda w: (per_width[w][0] * per_width[w][1], w))
        lanes, fma = per_width[width]
        out |= {"clock_ghz": clock, "clock_method": "measured: dependent integer adds, best of 30 runs",
                "lanes": lanes, "fma_per_cycle": fma, "fma_per_cycle_measured": {f"{w}-bit": round(r, 2) for w, r in widths.items()},
                "fma_method": f"measured: 12 independent {width}-bit FMAs per loop, rounded"}
    except OSError as err:
        lanes, fma, why = _assumed_fma(cpu, flags)
        clock = _label_clock_ghz()
        out |= {"clock_ghz": clock, "clock_method": f"NOT measured ({err}): /proc/cpuinfo's 'cpu MHz' label",
                "lanes": lanes, "fma_per_cycle": fma, "fma_method": why}
    out["gflops"] = fma_peak_gflops(cores, out["lanes"], out["fma_per_cycle"], out["clock_ghz"])
    out["formula"] = (f"{cores} cores x {out['lanes']} lanes x {out['fma_per_cycle']} FMA/cycle x 2 x "
                      f"{out['clock_ghz']:.2f} GHz = {out['gflops']:.1f} GFLOP/s")
    return out


def _label_clock_ghz() -> float:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return float(line.split(":")[1]) / 1e3
    except (OSError, ValueError):  # pragma: no cover
        pass
    return 1.0


# --- the best achieved GEMM -----------------------------------------------------------------------------------

def _ort_matmul(n: int, threads: int) -> Callable[[], Any]:
    """ONNX Runtime's own MatMul: a one-node model (B a constant initializer, as model weights are)."""
    from onnx import TensorProto, helper, numpy_helper

    from helpers.runtime import make_session

    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    graph = helper.make_graph([helper.make_node("MatMul", ["A", "B"], ["C"])], "gemm",
                              [helper.make_tensor_value_info("A", TensorProto.FLOAT, [n, n])],
                              [helper.make_tensor_value_info("C", TensorProto.FLOAT, [n, n])],
                              [numpy_helper.from_array(b, "B")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    sess = make_session(model, intra_op_threads=threads, spinning=False)
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    return lambda: sess.run(None, {"A": a})


def _gemm_calls(n: int, threads: int, libraries: Sequence[str]) -> dict[str, tuple[Callable[[], Any], Any]]:
    """``{library: (call, context manager setting its threads)}``."""
    import contextlib

    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    calls: dict[str, tuple[Callable[[], Any], Any]] = {}
    if "onnxruntime" in libraries:
        calls["onnxruntime MatMul"] = (_ort_matmul(n, threads), contextlib.nullcontext)
    if "torch" in libraries and _importable("torch"):
        import torch

        ta, tb = torch.from_numpy(a), torch.from_numpy(b)

        @contextlib.contextmanager
        def torch_threads():
            before = torch.get_num_threads()
            torch.set_num_threads(threads)
            try:
                yield
            finally:
                torch.set_num_threads(before)

        calls["torch.mm"] = (lambda: torch.mm(ta, tb), torch_threads)
    if "numpy" in libraries:
        def numpy_threads():
            if _importable("threadpoolctl"):
                from threadpoolctl import threadpool_limits

                return threadpool_limits(limits=threads, user_api="blas")
            return contextlib.nullcontext()

        calls["numpy (BLAS)"] = (lambda: a @ b, numpy_threads)
    return calls


def _importable(name: str) -> bool:
    import importlib.util

    return name in sys.modules or importlib.util.find_spec(name) is not None


def gemm_rates(sizes: Sequence[int] = (256, 512, 1024, 2048), threads: Sequence[int] = (1, 2),
               libraries: Sequence[str] = ("onnxruntime", "torch", "numpy"), repeats: int = 5,
               max_seconds: float = 1.5) -> list[dict[str, Any]]:
    """Float32 n x n GEMM rates: one row per library, size and thread count, from the best of up to ``repeats``
    runs after a warm-up (stopping once ``max_seconds`` were spent on one case, after 3 runs)."""
    rows = []
    for t in threads:
        for n in sizes:
            for lib, (call, limit) in _gemm_calls(n, t, libraries).items():
                with limit():
                    stats = time_callable(call, warmup=1, repeats=repeats, max_seconds=max_seconds)
                rows.append({"library": lib, "n": n, "threads": t, "runs": stats.n, "best_ms": stats.min,
                             "gflops": 2.0 * n**3 / (stats.min / 1e3) / 1e9})
    return rows


def measure_ceiling(threads: Sequence[int] = (1, 2), sizes: Sequence[int] = (256, 512, 1024, 2048),
                    repeats: int = 5, measure: bool = True) -> dict[int, Ceiling]:
    """``{threads: Ceiling}``: the theoretical FMA peak and the best GEMM (all libraries, all sizes) per thread count."""
    gemm = gemm_rates(sizes, threads, repeats=repeats)
    out = {}
    base = theoretical_peak(None, measure=measure)
    for t in threads:
        cores = min(t, base["physical_cores"])
        theory = dict(base, cores=cores, gflops=fma_peak_gflops(cores, base["lanes"], base["fma_per_cycle"],
                                                                base["clock_ghz"]))
        theory["formula"] = (f"{cores} cores x {theory['lanes']} lanes x {theory['fma_per_cycle']} FMA/cycle x 2 x "
                             f"{theory['clock_ghz']:.2f} GHz = {theory['gflops']:.1f} GFLOP/s")
        rows = [r for r in gemm if r["threads"] == t]
        out[t] = Ceiling(theory["gflops"], max(r["gflops"] for r in rows), t, theory, rows)
    return out
