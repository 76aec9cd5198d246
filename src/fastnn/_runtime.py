"""Build facts, threads and SIMD paths: fastnn.build_info() and friends."""

from __future__ import annotations

import math
import os
import platform
import re
import warnings
from typing import Any

from . import _build_config, _core
from ._validation import check_choice, check_int
from ._version import __version__

__all__ = ["build_info", "check_environment", "get_num_threads", "set_num_threads", "set_simd_path", "simd_paths"]

#: The most threads set_num_threads takes (a C int; at most 64 are used).
_MAX_THREADS = 2**31 - 1


def build_info() -> dict[str, Any]:
    """Describe how this fastnn was built and what it uses on this machine.

    Returns
    -------
    dict
        With the keys:

        - ``version`` (str): fastnn's version.
        - ``compiler`` (str), ``compile_flags`` (str): the C compiler and
          its flags.
        - ``simd_path_flags`` (dict): the extra flags of each SIMD path.
        - ``openmp`` (bool): whether the kernels were built with OpenMP.
        - ``openmp_version`` (str or None): e.g. "4.5"; None without OpenMP.
        - ``simd_compiled`` (list of str): the SIMD paths built in, lowest
          first.
        - ``simd_selected`` (str): the SIMD path in use.
        - ``simd_tile_f32``, ``simd_tile_f64``: the GEMM's register tile,
          rows x columns, for float32 and float64.
        - ``default_num_threads`` (int): the threads used by default.
        - ``num_threads`` (int): the threads the kernels use now.
        - ``idle_spin_us`` (int): how long an idle worker thread polls for
          work before it sleeps, in microseconds (FASTNN_SPIN_US or the
          default).
        - ``cpu`` (dict): the CPU as the kernels see it: ``vendor``,
          ``model_name``, ``family``, ``model`` (CPUID), ``l1d_bytes``,
          ``l2_bytes``, ``l3_bytes`` (0 when unknown), ``prefetchw`` (the
          CPU has a prefetch for writing, which the GEMM uses on a C it
          reads and writes back).
        - ``kernel_config`` (dict): the per-CPU kernel parameters in use:
          ``name`` (the row of csrc/cpu.c's table; FASTNN_CPU names another,
          "+env" marks FASTNN_KC / FASTNN_PANEL_KB / FASTNN_MIN_WORK /
          FASTNN_BACKWARD_MIN_WORK / FASTNN_NETWORK_MIN_WORK /
          FASTNN_STEP_MIN_WORK / FASTNN_SMALL_M / FASTNN_DOT_K_PER_ROW /
          FASTNN_DIRECT_B_SLIVERS / FASTNN_TRANSPOSED_TILES overrides),
          ``kc``, ``panel_kb``, ``gemm_min_work``, ``backward_min_work``,
          ``network_min_work``, ``step_min_work``, ``small_m``,
          ``dot_k_per_row``, ``direct_b_slivers``, ``transposed_tiles``.
        - ``machine`` (str), ``python`` (str): the CPU architecture and the
          Python version.

    See Also
    --------
    simd_paths : The SIMD paths this CPU can run.
    get_num_threads : The threads the kernels use now.
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
        "cpu": _core.cpu_info(),
        "kernel_config": _core.kernel_config(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }


def get_num_threads() -> int:
    """Return the number of threads fastnn's kernels use now.

    Returns
    -------
    int
        OpenMP's limit for the calling thread, capped by
        :func:`set_num_threads` and by 64.
    """
    return _core.get_num_threads()


def set_num_threads(n: int) -> None:
    """Use at most `n` threads in fastnn's kernels.

    The threads are fastnn's own pool, shared by every Python thread; this
    also sets OpenMP's thread count for the calling thread, so
    ``threadpoolctl`` reports it.  Small problems use fewer threads anyway.

    Parameters
    ----------
    n : int
        The number of threads, >= 1 (at most 64 are used).

    Raises
    ------
    TypeError
        If `n` is not an int (bools are refused).
    ValueError
        If `n` is below 1 or above 2**31 - 1.

    Warns
    -----
    RuntimeWarning
        For ``n > 1`` when fastnn was built without OpenMP.
    """
    n = check_int("n", n, minimum=1, maximum=_MAX_THREADS)
    if n > 1 and _core.openmp_version() == 0:
        warnings.warn("fastnn was built without OpenMP: kernels run on one thread", RuntimeWarning, stacklevel=2)
    _core.set_num_threads(n)


def simd_paths() -> list[str]:
    """Return the SIMD paths this build has that this CPU can run.

    Returns
    -------
    list of str
        Their names, lowest first (e.g. ``["generic", "avx2"]``).
    """
    return [p for p in _core.simd_compiled() if _core.simd_supported(p)]


def set_simd_path(name: str) -> None:
    """Force one SIMD path, e.g. to compare them.

    Call it between kernel calls, not while another thread runs one.  The
    environment variable FASTNN_SIMD does the same at import.

    Parameters
    ----------
    name : str
        A path of this build ("generic", "avx2", "avx512"; see
        :func:`build_info`'s ``simd_compiled``) that this CPU can run.

    Raises
    ------
    TypeError
        If `name` is not a string.
    ValueError
        If `name` is not a path of this build (the message lists them) or
        this CPU cannot run it.
    """
    # (the exact comparison also refuses "avx2\0...", which C would read as "avx2")
    check_choice("name", name, _core.simd_compiled())
    _core.simd_select(name)


def _cgroup_cpu_quota(path: str = "/sys/fs/cgroup/cpu.max") -> int | None:
    """Return the CPUs a cgroup (v2) CPU quota allows ("quota period", rounded up).

    None when there is no quota or no cgroup file.
    """
    try:
        with open(path) as f:
            quota, period = f.read().split()[:2]
        if quota == "max":
            return None
        return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        return None


def _respect_cpu_quota() -> None:
    """Use no more threads than the container's CPU quota allows, unless OMP_NUM_THREADS is set.

    OpenMP counts the CPUs of the affinity mask (os.sched_getaffinity), not
    the quota, and a team larger than the quota is throttled part way
    through every parallel job.
    """
    if os.environ.get("OMP_NUM_THREADS"):
        return
    quota = _cgroup_cpu_quota()
    if quota is not None and quota < _core.get_num_threads():
        _core.set_num_threads(quota)


def check_environment() -> None:
    """Honour a CPU quota and warn about bad FASTNN_* values (run at import).

    Warns
    -----
    RuntimeWarning
        For a FASTNN_SPIN_US that is not a whole number of microseconds, a
        FASTNN_KC, FASTNN_PANEL_KB, FASTNN_MIN_WORK, FASTNN_BACKWARD_MIN_WORK,
        FASTNN_NETWORK_MIN_WORK, FASTNN_STEP_MIN_WORK, FASTNN_SMALL_M,
        FASTNN_DOT_K_PER_ROW or FASTNN_DIRECT_B_SLIVERS that is not a positive
        whole number, a FASTNN_TRANSPOSED_TILES that is not a whole number,
        a FASTNN_CPU that names no row of the CPU table, or a
        FASTNN_SIMD naming a SIMD path this CPU cannot run.
    """
    _respect_cpu_quota()
    spin = os.environ.get("FASTNN_SPIN_US")
    if spin is not None and not re.fullmatch(r"[0-9]{1,8}", spin):
        warnings.warn(
            f"FASTNN_SPIN_US={spin!r} is not a whole number of microseconds (0 to 99999999); "
            f"idle worker threads poll for the default, {_core.idle_spin_us()} us",
            RuntimeWarning,
            stacklevel=3,
        )
    positive, whole = (r"[1-9][0-9]{0,8}", "a positive whole number"), (r"[0-9]{1,9}", "a whole number")
    for var, (pattern, what) in {"FASTNN_KC": positive, "FASTNN_PANEL_KB": positive, "FASTNN_MIN_WORK": positive,
                                 "FASTNN_BACKWARD_MIN_WORK": positive, "FASTNN_NETWORK_MIN_WORK": positive,
                                 "FASTNN_STEP_MIN_WORK": positive, "FASTNN_SMALL_M": positive,
                                 "FASTNN_DOT_K_PER_ROW": positive, "FASTNN_DIRECT_B_SLIVERS": positive,
                                 "FASTNN_TRANSPOSED_TILES": whole}.items():
        value = os.environ.get(var)
        if value is not None and not re.fullmatch(pattern, value):
            warnings.warn(f"{var}={value!r} is not {what}; it is ignored", RuntimeWarning, stacklevel=3)
    row = os.environ.get("FASTNN_CPU")
    if row and row not in _core.cpu_config_names():
        warnings.warn(f"FASTNN_CPU={row!r} is not a row of fastnn's CPU table ({_core.cpu_config_names()}); "
                      "the row matching this CPU is used", RuntimeWarning, stacklevel=3)
    forced = os.environ.get("FASTNN_SIMD")
    if forced and forced != _core.simd_selected():
        warnings.warn(
            f"FASTNN_SIMD={forced!r} is not a SIMD path this CPU can run "
            f"(available: {simd_paths()}); using {_core.simd_selected()!r}",
            RuntimeWarning,
            stacklevel=3,
        )
