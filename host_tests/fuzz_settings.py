"""Hypothesis budgets of the fuzz tests (host_tests/test_fuzz_*.py; docs/fuzzing.md).

Two profiles are registered here, not in conftest.py, and applied per test with `fuzz()`, so that
importing this module changes nothing for the other hypothesis tests of the suite:

  wasl-fuzz-short   `make test`: a few hundred examples per test, the whole fuzz set in well under a
                    minute on 2 cores.
  wasl-fuzz-long    WASL_FUZZ_LONG=1 (the long run of `make bench`, or by hand):
                        WASL_FUZZ_LONG=1 .venv/bin/python -m pytest -q host_tests/test_fuzz_*.py
                    2,000 examples per test (scaled for the slow targets): about 5 minutes on 2 cores.
                    WASL_FUZZ_LONG=<n> asks for n examples per test instead (20000: an overnight run).

A hang is not something hypothesis notices: `watchdog(seconds)` turns one into a failure (SIGALRM,
main thread only, POSIX), and every fuzz target that loops on its input runs under it.
"""
import contextlib
import os
import signal

from hypothesis import HealthCheck, settings

_LONG = os.environ.get("WASL_FUZZ_LONG", "").strip()
LONG = _LONG not in ("", "0")

SHORT_EXAMPLES = 200
LONG_EXAMPLES = int(_LONG) if _LONG.isdigit() and int(_LONG) > 1 else 2000

_COMMON = dict(deadline=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.filter_too_much])

settings.register_profile("wasl-fuzz-short", max_examples=SHORT_EXAMPLES, **_COMMON)
settings.register_profile("wasl-fuzz-long", max_examples=LONG_EXAMPLES, **_COMMON)
PROFILE = "wasl-fuzz-long" if LONG else "wasl-fuzz-short"


def fuzz(scale=1.0, **overrides):
    """A settings decorator from the active profile; `scale` multiplies its max_examples (slow targets
    take fewer: 0.25 -> 50 short, 5,000 long)."""
    base = settings.get_profile(PROFILE)
    n = max(10, int(base.max_examples * scale))
    return settings(base, max_examples=overrides.pop("max_examples", n), **overrides)


class Hang(AssertionError):
    pass


@contextlib.contextmanager
def watchdog(seconds):
    """Fail (raise Hang) if the body runs longer than `seconds` of wall time."""
    def _alarm(signum, frame):
        raise Hang("still running after %.1f s: a hang" % seconds)

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
