"""Answer tests for exercises that time something (31.1, 32.2): was the answered time measured on the real call?

A check cannot judge speed on a shared machine, but it can tell a timing of the real call from one of a no-op,
a constant or another model's: it times the same call itself, a few runs, and asks the answered time to be of
the same order (a factor of ``slack`` either way, generous enough for a busy machine).
"""

from __future__ import annotations

import time
from typing import Any, Callable  # noqa: UP035 (typing.Callable: the checks also import in the Python 3.8 kernel)

__all__ = ["own_timing_ms", "implausible_time"]


def own_timing_ms(call: Callable[[], Any], runs: int = 5) -> tuple[float, float]:
    """(fastest, median) of ``runs`` timed calls of ``call`` after one untimed warm-up, in milliseconds."""
    call()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[0], times[len(times) // 2]


def implausible_time(answered_ms: float, own: tuple[float, float], what: str, slack: float = 10.0) -> str | None:
    """A hint when ``answered_ms`` (a median) is not of the order of the check's own timing ``own``, else None.

    own: (fastest, median) from :func:`own_timing_ms`; the answer may be ``slack`` times faster than the check's
        fastest run or ``slack`` times slower than its median (a machine under load), not more.
    """
    fastest, median = own
    if answered_ms < fastest / slack:
        return (f"{what}: your median is {answered_ms:.3g} ms, but one run of it takes at least {fastest:.3g} ms here: "
                "time the real session.run call (a lambda that calls it), not something else.")
    if answered_ms > median * slack * 10:
        return (f"{what}: your median is {answered_ms:.3g} ms, far slower than the {median:.3g} ms it takes here: "
                "time one session.run per call, on the feeds you answered.")
    return None
