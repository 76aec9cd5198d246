"""Shared test settings.

Under CI (CI=true) hypothesis runs derandomized, so a CI run is repeatable;
locally it explores new examples each run (and prints how to reproduce a
failure)."""

import os

import pytest
from hypothesis import settings

import fastnn

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def restore_engine():
    """Every test leaves the SIMD path and thread count as it found them."""
    path = fastnn.build_info()["simd_selected"]
    nt = fastnn.get_num_threads()
    yield
    fastnn.set_simd_path(path)
    fastnn.set_num_threads(nt)


def pytest_terminal_summary(terminalreporter):
    """How many fuzz examples each fuzzed function got (tests/test_fuzz.py)."""
    import sys

    counts = None
    for mod in list(sys.modules.values()):
        c = getattr(mod, "FUZZ_COUNTS", None)
        if c and getattr(mod, "__file__", "").endswith("test_fuzz.py"):
            counts = c
            break
    if not counts:
        return
    tr = terminalreporter
    tr.section("fuzz examples per function")
    for name in sorted(counts):
        tr.write_line(f"{name:<48}{counts[name]:>7}")
    tr.write_line(f"{'total':<48}{sum(counts.values()):>7} examples over {len(counts)} functions")
