"""Shared test settings.

Under CI (CI=true) hypothesis runs derandomized, so a CI run is repeatable;
locally it explores new examples each run (and prints how to reproduce a
failure)."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
