"""The checks of notebooks/31_performance_tuning.ipynb's exercises refuse the shortcuts."""

from __future__ import annotations

import numpy as np
import pytest

import exercises
from tests.unit.exercises.tiny_models import tiny_digits


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_digits(tmp_path_factory.mktemp("tiny"))[0]


def _timed(model, batch, threads):
    from helpers import benchmark, runtime

    s = runtime.make_session(model, intra_op_threads=threads, spinning=False)
    x = np.zeros((batch, 1, 8, 8), np.float32)
    return benchmark.time_callable(lambda: s.run(None, {"image": x}), repeats=7)


@pytest.fixture(scope="module")
def measured(tiny):
    from helpers import benchmark

    return [benchmark.result_row("tiny", f"intra_op={t}", b, _timed(tiny, b, t), threads=t) for t in (1, 2) for b in (1, 64)]


def _refused(answer, hint, **context):
    feedback = exercises.check("31.1", answer, **context)
    assert not feedback and hint in feedback.message, feedback.message


def test_31_1_accepts_rows_timed_on_the_model(tiny, measured):
    assert exercises.check("31.1", measured, model=tiny, notebook_rows=[])


def test_31_1_refuses_timings_of_a_no_op(tiny):
    from helpers import benchmark

    noop = [benchmark.result_row("tiny", f"intra_op={t}", b, benchmark.time_callable(lambda: None, repeats=7), threads=t)
            for t in (1, 2) for b in (1, 64)]
    _refused(noop, "time the real session.run call", model=tiny)


def test_31_1_refuses_made_up_timings_far_from_the_models(tiny):
    from helpers import benchmark

    for scale, hint in ((1e-6, "time the real session.run call"), (1e5, "far slower")):
        rows = [benchmark.result_row("tiny", f"intra_op={t}", b, benchmark.summarize([scale * t, 1.1 * scale * t, 1.2 * scale * t]),
                                     threads=t) for t in (1, 2) for b in (1, 64)]
        _refused(rows, hint, model=tiny)


def test_31_1_refuses_one_timing_copied_to_both_thread_counts(tiny, measured):
    one = [r for r in measured if r["threads"] == 1]
    copied = one + [dict(r, threads=2, runtime="intra_op=2") for r in one]
    _refused(copied, "very same timings", model=tiny)


def test_31_1_refuses_the_notebooks_own_rows_with_a_threads_column(tiny, measured):
    notebook_rows = [{k: v for k, v in r.items() if k != "threads"} for r in measured]
    _refused(measured, "notebook's own timings", model=tiny, notebook_rows=notebook_rows)


def test_31_1_refuses_an_incomplete_or_inconsistent_grid(tiny, measured):
    broken = [dict(measured[0], p10_ms=1e9)] + measured[1:]
    no_threads = [{k: v for k, v in r.items() if k != "threads"} for r in measured]
    for answer, hint in (([r for r in measured if r["threads"] == 2], "compare 1 thread"),
                         ([r for r in measured if r["batch"] == 1], "one row per thread count"),
                         (broken, "p10 <= median <= p90"), (no_threads, "threads=n"), ("fast", "list of rows")):
        _refused(answer, hint, model=tiny)


@pytest.fixture(scope="module")
def profiles(tiny, tmp_path_factory):
    """Profiles of the tiny model at batch 1 and at batch 64, and the costliest operator of the first."""
    from helpers import benchmark, runtime

    folder = tmp_path_factory.mktemp("profiles")
    traces = {}
    for batch in (1, 64):
        s = runtime.make_session(tiny, profile_prefix=folder / f"b{batch}")
        for _ in range(5):
            s.run(None, {"image": np.zeros((batch, 1, 8, 8), np.float32)})
        traces[batch] = s.end_profiling()
    return traces, benchmark.summarize_profile(traces[1]).rows[0]["operator"]


def test_31_2_accepts_the_costliest_operator_of_a_batch_1_profile(profiles):
    traces, top = profiles
    assert exercises.check("31.2", {"profile": traces[1], "costliest": top})


def test_31_2_refuses_a_guessed_operator(profiles):
    traces, top = profiles
    other = "Flatten" if top != "Flatten" else "MatMul"
    feedback = exercises.check("31.2", {"profile": traces[1], "costliest": other})
    assert not feedback and "not the costliest" in feedback.message


def test_31_2_refuses_the_notebooks_batch_64_profile(profiles):
    traces, top = profiles
    feedback = exercises.check("31.2", {"profile": traces[64], "costliest": top})
    assert not feedback and "batches of [64]" in feedback.message


def test_31_2_refuses_a_missing_file_and_a_bare_name(profiles):
    _, top = profiles
    for answer, hint in (({"profile": "none.json", "costliest": top}, "not a .json file"), (top, "answer a dict")):
        feedback = exercises.check("31.2", answer)
        assert not feedback and hint in feedback.message, feedback.message
