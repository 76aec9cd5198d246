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
