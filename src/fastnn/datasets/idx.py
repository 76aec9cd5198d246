"""IDX files, the format of the MNIST files: read and write, gzip-compressed or raw.

An IDX file is a big-endian header ``0x00 0x00 <type code> <ndim>``,
followed by ``ndim`` 32-bit dimensions and the payload.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .. import _memory
from .._validation import as_array, check_int, check_path
from .files import create_temp, remove_quietly

__all__ = ["read_idx", "write_idx"]

# IDX data type codes and the matching big-endian NumPy dtypes.
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dt.newbyteorder("="): code for code, dt in _IDX_DTYPES.items()}
# deflate cannot compress better than about 1032:1, so a gzip file whose
# header promises more than this many payload bytes per compressed byte is
# truncated or damaged (checked before allocating anything).
_MAX_DEFLATE_RATIO = 1100
_CHUNK = 1 << 20


# --------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------
def _open_maybe_gzip(path: Path) -> tuple[Any, Any, bool]:
    """Open ``path`` as ``(stream, raw file, compressed)``, gzip told by its signature."""
    f = open(path, "rb")  # noqa: SIM115 - closed by read_idx, with the gzip stream over it
    head = f.read(2)
    f.seek(0)
    if head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=f, mode="rb"), f, True
    return f, f, False


def _read_exact(f: Any, n: int, path: Path, what: str) -> bytes:
    """Read ``n`` bytes of ``f`` or raise ValueError (a truncated file)."""
    data: bytes = f.read(n)
    if len(data) != n:
        raise ValueError(f"{path}: truncated: {what} needs {n} bytes, the file has only {len(data)}")
    return data


def _magic_desc(magic: int) -> str:
    """Describe the magic number ``magic``: its type and number of dimensions."""
    code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    dt = _IDX_DTYPES.get(code)
    name = dt.newbyteorder("=").name if dt is not None else f"unknown type 0x{code:02X}"
    return f"{name}, {ndim} dimension(s)"


def _read_header(stream: Any, path: Path, expected_magic: int | None) -> tuple[np.dtype, tuple[int, ...]]:
    """Read and check the header: the payload's (big-endian) dtype and its dimensions."""
    head = _read_exact(stream, 4, path, "the IDX header")
    magic = struct.unpack(">I", head)[0]
    if head[0] or head[1]:
        raise ValueError(f"{path}: not an IDX file: bad magic number 0x{magic:08X} "
                         f"(an IDX magic number starts with two zero bytes)")
    code, ndim = head[2], head[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{path}: bad magic number 0x{magic:08X}: unknown IDX data type code 0x{code:02X}")
    if ndim == 0:
        raise ValueError(f"{path}: bad magic number 0x{magic:08X}: zero dimensions")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(f"{path}: wrong magic number 0x{magic:08X} ({_magic_desc(magic)}), "
                         f"expected 0x{expected_magic:08X} ({_magic_desc(expected_magic)})")
    dims = struct.unpack(f">{ndim}I", _read_exact(stream, 4 * ndim, path, f"the header of a {ndim}-dimensional file"))
    return _IDX_DTYPES[code], dims


def _payload_size(path: Path, dtype: np.dtype, dims: tuple[int, ...], compressed: bool) -> int:
    """Return the payload's size in bytes, refusing sizes the file cannot hold or memory cannot take."""
    nbytes = int(np.prod(dims, dtype=object)) * dtype.itemsize
    disk = path.stat().st_size
    limit = disk * _MAX_DEFLATE_RATIO if compressed else disk - 4 - 4 * len(dims)
    if nbytes > limit:
        raise ValueError(
            f"{path}: truncated or damaged: the header promises "
            f"{'x'.join(map(str, dims))} {dtype.newbyteorder('=').name} values "
            f"({nbytes} payload bytes), more than this "
            f"{disk}-byte {'gzip ' if compressed else ''}file can hold")
    _memory.check_alloc(nbytes, f"{path}: its {'x'.join(map(str, dims))} array")
    return nbytes


def _read_payload(stream: Any, path: Path, nbytes: int, dims: tuple[int, ...]) -> np.ndarray:
    """Read exactly ``nbytes`` bytes and then the end of the stream (uint8 array)."""
    shape = "x".join(map(str, dims))
    buf = np.empty(nbytes, dtype=np.uint8)
    view = buf.data  # a memoryview of buf
    got = 0
    while got < nbytes:
        n = stream.readinto(view[got:got + _CHUNK])
        if not n:
            break
        got += n
    if got != nbytes:
        raise ValueError(f"{path}: truncated: the header promises {shape} values "
                         f"({nbytes} payload bytes), the file has only {got}")
    extra = 0
    for chunk in iter(lambda: stream.read(_CHUNK), b""):
        extra += len(chunk)
    if extra:
        raise ValueError(f"{path}: {extra} unexpected trailing byte(s) after the "
                         f"{nbytes}-byte payload its header declares ({shape})")
    return buf


def read_idx(path: str | os.PathLike[str], *, expected_magic: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw) into a NumPy array.

    The header is checked: the first two bytes must be zero, the third a
    known IDX type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), the fourth the number of dimensions (at
    least 1), followed by that many big-endian uint32 sizes; the payload
    must hold exactly the number of bytes they imply -- no fewer, no more.
    Gzip is recognised by its signature, not the file name; the gzip CRC is
    checked.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    expected_magic : int, optional
        The whole 32-bit magic number the file must have, e.g. ``0x00000803``
        for MNIST images, ``0x00000801`` for labels.

    Returns
    -------
    numpy.ndarray
        A writable array of the file's shape, in native byte order.

    Raises
    ------
    ValueError
        For a damaged or truncated file (naming the file and the problem),
        or a magic number other than ``expected_magic``.
    MemoryError
        When the array the header declares cannot fit in memory.
    OSError
        When the file cannot be read.
    TypeError
        For arguments of the wrong type.
    """
    path = check_path("path", path)
    if expected_magic is not None:
        expected_magic = check_int("expected_magic", expected_magic, 0, 2 ** 32 - 1)
    stream, raw, compressed = _open_maybe_gzip(path)
    try:
        with raw, stream:
            dtype, dims = _read_header(stream, path, expected_magic)
            nbytes = _payload_size(path, dtype, dims, compressed)
            buf = _read_payload(stream, path, nbytes, dims)
    except EOFError as e:  # gzip stream cut short
        raise ValueError(f"{path}: truncated gzip stream ({e})") from None
    except (gzip.BadGzipFile, zlib.error) as e:
        raise ValueError(f"{path}: damaged gzip data ({e})") from None
    arr = buf.view(dtype).reshape(dims)
    if dtype.itemsize > 1:
        arr = arr.astype(dtype.newbyteorder("="))
    return arr


# --------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------
def _idx_dtype_for(a: np.ndarray) -> np.dtype:
    """Return the (native) IDX dtype that stores the values of ``a`` exactly."""
    native = a.dtype.newbyteorder("=") if a.dtype.byteorder not in "=|" else a.dtype
    if native in _IDX_CODES:
        return native
    if a.dtype.kind in "biu":
        lo = int(a.min()) if a.size else 0
        hi = int(a.max()) if a.size else 0
        for cand in ("u1", "i1", "i2", "i4"):
            info = np.iinfo(cand)
            if info.min <= lo and hi <= info.max:
                return np.dtype(cand)
        raise TypeError(f"write_idx: array values {lo}..{hi} do not fit any IDX integer type (int32 at most)")
    raise TypeError(f"write_idx: IDX cannot store array dtype {a.dtype}; use uint8, "
                    f"int8, int16, int32, float32 or float64")


def _encode(a: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Return the IDX header of ``a`` and its payload (big-endian, contiguous)."""
    if a.ndim == 0:
        raise ValueError("write_idx: array must have at least one dimension (IDX needs one)")
    if a.ndim > 255 or any(d >= 2 ** 32 for d in a.shape):
        raise ValueError(f"write_idx: array shape {a.shape} does not fit an IDX header")
    dt = _idx_dtype_for(a)
    header = struct.pack(">BBBB", 0, 0, _IDX_CODES[dt], a.ndim) + struct.pack(f">{a.ndim}I", *a.shape)
    return header, np.ascontiguousarray(a, dtype=dt.newbyteorder(">") if dt.itemsize > 1 else dt)


def write_idx(path: str | os.PathLike[str], array: ArrayLike, *, compresslevel: int = 9) -> Path:
    """Write ``array`` as an IDX file; gzip-compressed if ``path`` ends in ``.gz``.

    The IDX type follows the dtype (uint8, int8, int16, int32, float32,
    float64).  Other integer arrays (e.g. ``int64`` labels) are stored in
    the smallest of uint8, int8, int16, int32 that holds their values
    exactly, so :func:`read_idx` gives back equal values (uint8 for MNIST
    labels and images).  The gzip header carries no name or time stamp, so
    equal arrays give byte-identical files.  The file is written to a
    temporary file and renamed into place.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its folder must exist.
    array : array_like
        The array, at least 1-D.
    compresslevel : int, default 9
        The gzip compression level, 0..9 (for a ``.gz`` path).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    TypeError
        For a dtype IDX cannot store (complex, text, integers beyond int32...)
        or arguments of the wrong type.
    ValueError
        For a 0-d array, a shape an IDX header cannot hold, or a
        ``compresslevel`` out of range.

    Examples
    --------
    >>> write_idx("labels-idx1-ubyte.gz", [3, 1, 4])  # doctest: +SKIP
    PosixPath('labels-idx1-ubyte.gz')
    """
    path = check_path("path", path)
    compresslevel = check_int("compresslevel", compresslevel, 0, 9)
    header, payload = _encode(as_array("array", array, numeric=False))
    fd, tmp = create_temp(path.parent, path.name)
    try:
        with os.fdopen(fd, "wb") as raw:
            if path.suffix == ".gz":
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=compresslevel) as f:
                    f.write(header)
                    f.write(payload.tobytes())
            else:
                raw.write(header)
                raw.write(payload.tobytes())
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise
    return path
