"""Refuse buffers that cannot fit, before asking for them.

NumPy raises MemoryError itself when malloc fails, but on Linux (memory
overcommit) a request smaller than RAM + swap usually *succeeds* and the
process is killed later, when the pages are touched.  So fastnn compares
every buffer whose size comes from the caller (a layer's weights, a
training workspace, a copy of the input batch, the output of predict)
with what the process can have at most -- physical memory, the cgroup's
memory.max, RLIMIT_AS -- and raises a MemoryError naming the size first.
"""

from __future__ import annotations

import os

__all__ = ["MAX_DIM", "check_alloc", "check_dim", "format_bytes", "memory_limit"]

#: The largest dimension fastnn's C kernels take: they index with C int and
#: round dimensions up to a whole tile (at most 1024 elements), so leave room.
MAX_DIM = 2**31 - 1 - 1024

_SMALL = 64 * 2**20  # below this, never refuse (and never look the limit up)
_static_limit = None


def format_bytes(n: int) -> str:
    """Format a byte count for a message: 1536 -> '1.5 KiB', 100 -> '100 bytes'."""
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if value < 1024 or unit == "EiB":
            return f"{n} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"  # pragma: no cover


def _read_static_limit() -> tuple[int, str] | None:
    """Return (bytes, what) for the smaller of physical memory and the cgroup limit.

    Both are fixed for the process's life, so they are read once.  None when
    neither can be read.
    """
    best = None
    try:
        phys = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        if phys > 0:
            best = (phys, "physical memory")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit() and (best is None or int(text) < best[0]):
            best = (int(text), f"the cgroup memory limit ({path})")
        break
    return best


def memory_limit() -> tuple[int, str] | None:
    """Return the most memory this process can have, as (bytes, what limits it).

    The smallest of physical memory, the cgroup limit and RLIMIT_AS; None
    when none of them is known.  ``what`` reads like "physical memory", for
    messages.
    """
    global _static_limit
    if _static_limit is None:
        _static_limit = _read_static_limit() or (0, "")
    best = _static_limit if _static_limit[0] > 0 else None
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY and soft > 0 and (best is None or soft < best[0]):
            best = (soft, "the address-space limit (RLIMIT_AS)")
    except (ImportError, OSError, ValueError):  # pragma: no cover - not POSIX
        pass
    return best


def check_alloc(nbytes: int, what: str) -> None:
    """Raise MemoryError if a buffer of ``nbytes`` cannot fit in this process.

    ``what`` names the buffer in the message, e.g. "the weights of
    Dense(10, 10)".  Buffers up to 64 MiB are never refused.
    """
    if nbytes <= _SMALL:
        return
    limit = memory_limit()
    if limit is not None and nbytes > limit[0]:
        raise MemoryError(
            f"{what} would need {format_bytes(nbytes)} ({nbytes} bytes), more than "
            f"{limit[1]} allows ({format_bytes(limit[0])})"
        )


def check_dim(name: str, value: int) -> int:
    """Return ``value``, or raise ValueError if it is a dimension the C kernels cannot index.

    ``name`` names the dimension in the message; ``value`` is an int already
    checked to be >= 1 (see :func:`fastnn._validation.check_int`).
    """
    if value > MAX_DIM:
        raise ValueError(f"{name}={value} is larger than fastnn's kernels allow (at most {MAX_DIM}, "
                         "C int indices)")
    return value
