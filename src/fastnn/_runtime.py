"""Build facts, threads and SIMD paths: fastnn.build_info() and friends."""

from __future__ import annotations

import math
import os
import platform
import re
import warnings

from . import _build_config, _core
from ._version import __version__

__all__ = ["build_info", "get_num_threads", "set_num_threads", "set_simd_path", "simd_paths"]


def build_info() -> dict:
    """How this fastnn was built and what it uses on this machine.

    Keys: version, compiler, compile_flags, simd_path_flags, openmp (bool),
    openmp_version (e.g. "4.5", None without OpenMP), simd_compiled (paths
    built in, lowest first), simd_selected (the one in use), simd_tile_f32 /
    simd_tile_f64 (register tile, rows x columns), default_num_threads,
    num_threads (what kernels use now), idle_spin_us (how long an idle
    worker thread polls for work before it sleeps: FASTNN_SPIN_US or the
    default), machine, python.
    """
    omp = _core.openmp_version()
    return {
        "version": __version__,
        "compiler": _build_config.compiler,
        "compile_flags": _build_config.compile_flags,
        "simd_path_flags": dict(_build_config.simd_path_flags),
        "openmp": omp > 0,
        "openmp_version": (_build_config.openmp_version or str(omp)) if omp else None,
        "simd_compiled": _core.simd_compiled(),
        "simd_selected": _core.simd_selected(),
        "simd_tile_f32": _core.simd_tile(False),
        "simd_tile_f64": _core.simd_tile(True),
        "default_num_threads": _core.default_num_threads(),
        "num_threads": _core.get_num_threads(),
        "idle_spin_us": _core.idle_spin_us(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }


def get_num_threads() -> int:
    """Threads fastnn's kernels use now (OpenMP's limit for this thread,
    capped by set_num_threads and by 64)."""
    return _core.get_num_threads()


def set_num_threads(n: int) -> None:
    """Use at most n threads in fastnn's kernels (n >= 1; at most 64 are
    used).

    The threads are fastnn's own pool, shared by every Python thread; this
    also sets OpenMP's thread count for the calling thread, so
    ``threadpoolctl`` reports it.  Small problems use fewer threads anyway.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if not 1 <= n <= 2**31 - 1:
        raise ValueError(f"n must be in [1, 2**31 - 1], got {n}")
    if n > 1 and _core.openmp_version() == 0:
        warnings.warn("fastnn was built without OpenMP: kernels run on one thread", RuntimeWarning, stacklevel=2)
    _core.set_num_threads(n)


def simd_paths() -> list:
    """The SIMD paths this build has that this CPU can run, lowest first."""
    return [p for p in _core.simd_compiled() if _core.simd_supported(p)]


def set_simd_path(name: str) -> None:
    """Force one SIMD path ("generic", "avx2", "avx512"), e.g. to compare them.

    Call it between kernel calls, not while another thread runs one.  The
    environment variable FASTNN_SIMD does the same at import.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if name not in _core.simd_compiled():  # (also refuses "avx2\0...", which C would read as "avx2")
        raise ValueError(f"SIMD path {name!r} is not one of this build's: {_core.simd_compiled()}")
    _core.simd_select(name)


def _cgroup_cpu_quota(path: str = "/sys/fs/cgroup/cpu.max"):
    """The CPUs a cgroup (v2) CPU quota allows, "quota period" rounded up;
    None when there is no quota or no cgroup file."""
    try:
        with open(path) as f:
            quota, period = f.read().split()[:2]
        if quota == "max":
            return None
        return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        return None


def _respect_cpu_quota() -> None:
    """Unless OMP_NUM_THREADS says otherwise, use no more threads than the
    container's CPU quota allows: OpenMP counts the CPUs of the affinity
    mask (os.sched_getaffinity), not the quota, and a team larger than the
    quota is throttled part way through every parallel job."""
    if os.environ.get("OMP_NUM_THREADS"):
        return
    quota = _cgroup_cpu_quota()
    if quota is not None and quota < _core.get_num_threads():
        _core.set_num_threads(quota)


def check_environment() -> None:
    """At import: honour a CPU quota; warn about bad FASTNN_SPIN_US / FASTNN_SIMD values."""
    _respect_cpu_quota()
    spin = os.environ.get("FASTNN_SPIN_US")
    if spin is not None and not re.fullmatch(r"[0-9]{1,8}", spin):
        warnings.warn(
            f"FASTNN_SPIN_US={spin!r} is not a whole number of microseconds (0 to 99999999); "
            f"idle worker threads poll for the default, {_core.idle_spin_us()} us",
            RuntimeWarning,
            stacklevel=3,
        )
    forced = os.environ.get("FASTNN_SIMD")
    if forced and forced != _core.simd_selected():
        warnings.warn(
            f"FASTNN_SIMD={forced!r} is not a SIMD path this CPU can run "
            f"(available: {simd_paths()}); using {_core.simd_selected()!r}",
            RuntimeWarning,
            stacklevel=3,
        )
