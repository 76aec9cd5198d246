"""Tests of fastnn.datasets: IDX files, download/cache, sample, preprocessing.

Nothing here touches the internet: downloads go to an HTTP server on
127.0.0.1 that the tests start themselves, serving the real MNIST files from
``$FASTNN_DATA``, else ``<repo>/../shared/data/mnist`` (tests that need them
are skipped, saying where they looked, when neither holds them), and an autouse fixture points the default mirror list
at a closed loopback port and the default data directory at a temporary one.
"""

import gzip
import hashlib
import http.server
import shutil
import signal
import socket
import struct
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from mnist_files import FULL_MNIST, NO_FULL_MNIST

from fastnn import datasets as ds

NAMES = [spec.name for spec in ds.MNIST_FILES.values()]
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


# --------------------------------------------------------------------------
# fixtures: the real files, a loopback mirror server, a closed port
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist_dir():
    if FULL_MNIST is None:
        pytest.skip(NO_FULL_MNIST)
    return FULL_MNIST


SLOW_DELAY = 1.0   # seconds the /slow/ mirror waits before answering
TIMEOUT = 0.3      # client timeout used against it


class _Handler(http.server.BaseHTTPRequestHandler):
    """Routes: /<mode>/<file name> for mode in good, missing, garbage, short,
    slow, html (a 200 answer with an HTML page instead of the file), reset
    (half the file, then the connection reset) and stall (half the file,
    then silence; sets ``server.stalled``)."""

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _send(self, body, length=None, ctype="application/octet-stream"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.server.log.append(self.path)
        mode, _, name = self.path.lstrip("/").partition("/")
        body = self.server.files.get(name)
        try:
            if body is None or mode == "missing":
                self.send_error(404, "Not Found")
            elif mode == "good":
                self._send(body)
            elif mode == "garbage":          # right size, wrong bytes
                self._send(body[::-1])
            elif mode == "short":            # announces everything, sends half
                self._send(body[:len(body) // 2], length=len(body))
            elif mode == "slow":
                time.sleep(SLOW_DELAY)
                self._send(body)
            elif mode == "html":
                self._send(b"<html><body>Sorry, moved.</body></html>", ctype="text/html")
            elif mode == "reset":            # half, then a TCP reset (SO_LINGER 0)
                self._send(body[:len(body) // 2], length=len(body))
                self.wfile.flush()
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()
            elif mode == "stall":            # half, then nothing until the client gives up
                self._send(body[:len(body) // 2], length=len(body))
                self.wfile.flush()
                self.server.stalled.set()
                time.sleep(SLOW_DELAY * 5)
            else:
                self.send_error(500, "unknown mode")
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def server(mnist_dir):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.block_on_close = False
    srv.files = {n: (mnist_dir / n).read_bytes() for n in NAMES}
    srv.log = []
    srv.stalled = threading.Event()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    srv.url = lambda mode: f"{base}/{mode}/"
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def log(server):
    server.log.clear()
    return server.log


def _closed_port_url():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/mnist/"


@pytest.fixture
def refused():
    return _closed_port_url()


@pytest.fixture(autouse=True)
def _offline_defaults(monkeypatch, tmp_path):
    """Whatever a test forgets to pass, nothing reaches the internet or ~/.cache."""
    monkeypatch.setenv("FASTNN_MNIST_MIRROR", _closed_port_url())
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path / "default-data-home"))


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _listing(folder):
    return sorted(p.name for p in Path(folder).iterdir()) if Path(folder).exists() else []


def _copy_originals(mnist_dir, dest):
    dest.mkdir(parents=True, exist_ok=True)
    for n in NAMES:
        shutil.copyfile(mnist_dir / n, dest / n)
    return dest


# --------------------------------------------------------------------------
# IDX reader / writer
# --------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".gz", ""])
def test_idx_round_trip_uint8_images_and_labels(tmp_path, suffix):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=7).astype(np.uint8)
    pi = ds.write_idx(tmp_path / f"img-idx3-ubyte{suffix}", images)
    pl = ds.write_idx(tmp_path / f"lab-idx1-ubyte{suffix}", labels)
    got_i = ds.read_idx(pi, expected_magic=0x00000803)
    got_l = ds.read_idx(pl, expected_magic=0x00000801)
    assert got_i.dtype == np.uint8 and got_i.shape == (7, 28, 28)
    assert got_l.dtype == np.uint8 and got_l.shape == (7,)
    np.testing.assert_array_equal(got_i, images)
    np.testing.assert_array_equal(got_l, labels)
    got_i[0, 0, 0] = 1  # writable
    raw = gzip.decompress(pi.read_bytes()) if suffix else pi.read_bytes()
    assert raw[:16] == struct.pack(">IIII", 0x803, 7, 28, 28)
    assert len(raw) == 16 + images.size
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([pi.name, pl.name])


def test_idx_round_trip_other_dtypes_and_reproducible_bytes(tmp_path):
    rng = np.random.default_rng(1)
    for dt in ("i1", "<i2", ">i4", "<f4", ">f8"):
        a = (rng.standard_normal((3, 4, 5)) * 100).astype(dt)
        p = ds.write_idx(tmp_path / f"a{dt[-2:]}.gz", a)
        b = ds.read_idx(p)
        assert b.dtype == np.dtype(dt).newbyteorder("=") and b.dtype.isnative
        np.testing.assert_array_equal(a, b)
    # int64 labels are stored in the smallest IDX type that holds them
    y = np.array([0, 9, 3], dtype=np.int64)
    b = ds.read_idx(ds.write_idx(tmp_path / "y.gz", y))
    assert b.dtype == np.uint8 and np.array_equal(b, y)
    big = np.array([-5, 70000], dtype=np.int64)
    assert ds.read_idx(ds.write_idx(tmp_path / "big", big)).dtype == np.int32
    with pytest.raises(TypeError):
        ds.write_idx(tmp_path / "huge", np.array([2 ** 40]))
    with pytest.raises(TypeError):
        ds.write_idx(tmp_path / "complex", np.zeros(3, dtype=complex))
    with pytest.raises(ValueError):
        ds.write_idx(tmp_path / "scalar", np.uint8(3))
    # same array, same bytes (no name or time stamp in the gzip header)
    a = np.arange(100, dtype=np.uint8)
    one = ds.write_idx(tmp_path / "one.gz", a).read_bytes()
    assert one[3] == 0 and one[4:8] == b"\0\0\0\0"  # no FNAME flag, MTIME 0
    assert ds.write_idx(tmp_path / "two.gz", a).read_bytes() == one


def test_read_idx_reads_the_real_test_files(mnist_dir):
    X = ds.read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz", expected_magic=0x803)
    y = ds.read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz", expected_magic=0x801)
    assert X.shape == (10000, 28, 28) and X.dtype == np.uint8
    assert y.shape == (10000,) and y.max() == 9
    assert X.max() == 255 and X.min() == 0


def _raw_idx(tmp_path, name, header, payload=b""):
    p = tmp_path / name
    p.write_bytes(header + payload)
    return p


def test_read_idx_truncated_files(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    raw = ds.write_idx(tmp_path / "full-idx3-ubyte", images).read_bytes()
    # payload one byte short
    p = tmp_path / "short-idx3-ubyte"
    p.write_bytes(raw[:-1])
    with pytest.raises(ValueError, match="truncated") as e:
        ds.read_idx(p)
    assert str(p) in str(e.value) and "1568" in str(e.value)
    # header cut inside the dimensions
    p = tmp_path / "header-idx3-ubyte"
    p.write_bytes(raw[:10])
    with pytest.raises(ValueError, match="truncated") as e:
        ds.read_idx(p)
    assert str(p) in str(e.value)
    # empty file
    p = tmp_path / "empty"
    p.write_bytes(b"")
    with pytest.raises(ValueError, match="truncated"):
        ds.read_idx(p)
    # a gzip file cut in the middle of its compressed stream
    gz = ds.write_idx(tmp_path / "full-idx3-ubyte.gz", images).read_bytes()
    p = tmp_path / "cut-idx3-ubyte.gz"
    p.write_bytes(gz[: len(gz) // 2])
    with pytest.raises(ValueError, match="truncated") as e:
        ds.read_idx(p)
    assert str(p) in str(e.value)
    # a gzip file whose payload is short although the stream is complete
    p = tmp_path / "shortgz-idx3-ubyte.gz"
    p.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(ValueError, match="truncated"):
        ds.read_idx(p)
    # trailing bytes after the payload are an error too
    p = tmp_path / "long-idx3-ubyte.gz"
    p.write_bytes(gzip.compress(raw + b"\0\0\0"))
    with pytest.raises(ValueError, match="3 unexpected trailing byte"):
        ds.read_idx(p)
    # a header promising far more than the file can hold
    p = _raw_idx(tmp_path, "huge.gz", b"")
    p.write_bytes(gzip.compress(struct.pack(">IIII", 0x803, 60000, 28, 28)))
    with pytest.raises(ValueError, match="truncated or damaged"):
        ds.read_idx(p)


def test_read_idx_damaged_gzip(tmp_path):
    images = np.random.default_rng(2).integers(0, 256, (50, 28, 28), dtype=np.uint8)
    gz = bytearray(ds.write_idx(tmp_path / "ok.gz", images).read_bytes())
    gz[len(gz) // 2] ^= 0xFF
    p = tmp_path / "flipped.gz"
    p.write_bytes(bytes(gz))
    with pytest.raises(ValueError) as e:
        ds.read_idx(p)
    assert str(p) in str(e.value)


def test_read_idx_bad_magic_number(tmp_path):
    dims = struct.pack(">III", 1, 28, 28) + bytes(784)
    cases = {
        "not-idx": (b"\x12\x34\x08\x03", "bad magic number 0x12340803"),
        "bad-type": (b"\x00\x00\x0a\x03", "unknown IDX data type code 0x0A"),
        "zero-dims": (b"\x00\x00\x08\x00", "zero dimensions"),
    }
    for name, (head, message) in cases.items():
        p = _raw_idx(tmp_path, name, head, dims)
        with pytest.raises(ValueError, match=message) as e:
            ds.read_idx(p)
        assert str(p) in str(e.value)
    # a valid labels file where images are expected
    labels = ds.write_idx(tmp_path / "labels-idx1-ubyte.gz", np.arange(10, dtype=np.uint8))
    assert ds.read_idx(labels).shape == (10,)
    with pytest.raises(ValueError, match="wrong magic number 0x00000801") as e:
        ds.read_idx(labels, expected_magic=0x00000803)
    assert str(labels) in str(e.value) and "0x00000803" in str(e.value)


def test_loader_checks_label_range_and_counts(tmp_path, monkeypatch):
    """The MNIST loader rejects labels outside 0..9 and mismatched counts."""
    folder = tmp_path / "fake_sample"
    folder.mkdir()
    imgs = np.zeros((4, 28, 28), np.uint8)
    ds.write_idx(folder / "train-images-idx3-ubyte.gz", imgs)
    ds.write_idx(folder / "train-labels-idx1-ubyte.gz", np.array([1, 2, 12, 3], np.uint8))
    ds.write_idx(folder / "t10k-images-idx3-ubyte.gz", imgs)
    ds.write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.array([1, 2, 3], np.uint8))
    monkeypatch.setattr(ds.mnist, "mnist_sample_dir", lambda: folder)  # the module that calls it
    with pytest.raises(ValueError, match="outside 0..9") as e:
        ds.load_mnist_sample()
    assert "train-labels-idx1-ubyte.gz" in str(e.value) and "index 2" in str(e.value)
    ds.write_idx(folder / "train-labels-idx1-ubyte.gz", np.array([1, 2, 9, 3], np.uint8))
    with pytest.raises(ValueError, match="has 4 images but .* has 3 labels"):
        ds.load_mnist_sample()
    ds.write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((3, 28, 27), np.uint8))
    with pytest.raises(ValueError, match="28x27"):
        ds.load_mnist_sample()


# --------------------------------------------------------------------------
# data directory and mirror list
# --------------------------------------------------------------------------
def test_get_data_home(monkeypatch, tmp_path):
    assert ds.get_data_home(tmp_path / "x") == tmp_path / "x"
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path / "env"))
    assert ds.get_data_home() == tmp_path / "env"
    monkeypatch.delenv("FASTNN_DATA")
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert ds.get_data_home() == tmp_path / "xdg" / "fastnn"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert ds.get_data_home() == tmp_path / "home" / ".cache" / "fastnn"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert ds.get_data_home() == tmp_path / "home" / ".cache" / "fastnn"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert ds.get_data_home() == tmp_path / "local" / "fastnn"
    assert not (tmp_path / "local").exists()  # nothing is created by asking


def test_resolve_mirrors(monkeypatch):
    monkeypatch.delenv("FASTNN_MNIST_MIRROR")
    assert ds.resolve_mirrors() == list(ds.DEFAULT_MIRRORS)
    assert ds.DEFAULT_MIRRORS[0] == "https://ossci-datasets.s3.amazonaws.com/mnist/"
    monkeypatch.setenv("FASTNN_MNIST_MIRROR", "  ")
    assert ds.resolve_mirrors() == list(ds.DEFAULT_MIRRORS)
    monkeypatch.setenv("FASTNN_MNIST_MIRROR", "http://a/x, http://b/y/\n file:///c")
    assert ds.resolve_mirrors() == ["http://a/x/", "http://b/y/", "file:///c/"]
    # the argument wins over the environment
    assert ds.resolve_mirrors(["http://arg"]) == ["http://arg/"]
    assert ds.resolve_mirrors("http://one http://two") == ["http://one/", "http://two/"]
    with pytest.raises(ValueError):
        ds.resolve_mirrors([])


# --------------------------------------------------------------------------
# download through the loopback server
# --------------------------------------------------------------------------
def test_bad_mirrors_are_skipped_and_cache_holds_exactly_the_good_files(
        server, log, refused, tmp_path, capsys):
    home = tmp_path / "cache"
    mirrors = [refused, server.url("missing"), server.url("garbage"),
               server.url("short"), server.url("good")]
    data = ds.load_mnist(data_home=home, mirrors=mirrors, timeout=5, verbose=True)
    assert _listing(home) == sorted(NAMES)  # no temp files, nothing else
    for spec in ds.MNIST_FILES.values():
        assert _sha(home / spec.name) == spec.sha256
    for name in NAMES:  # every bad mirror was really asked, in order
        assert [p for p in log if p.endswith(name)] == [
            f"/missing/{name}", f"/garbage/{name}", f"/short/{name}", f"/good/{name}"]
    X_train, y_train, X_test, y_test = data
    assert X_train.shape == (60000, 28, 28) and X_train.dtype == np.uint8
    assert X_test.shape == (10000, 28, 28) and X_test.dtype == np.uint8
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    assert np.bincount(y_train).tolist() == TRAIN_COUNTS
    assert data.source == "full" and not data.is_sample and data.reason is None
    err = capsys.readouterr().err
    assert "connection refused" in err and "HTTP 404" in err and "checksum mismatch" in err
    # a second call uses the verified cache and asks no mirror
    log.clear()
    again = ds.load_mnist(data_home=home, mirrors=[refused], flatten=True, verbose=False)
    assert log == []
    assert again.X_train.shape == (60000, 784)
    np.testing.assert_array_equal(again.X_train[123], X_train[123].ravel())


def test_verbose_false_downloads_without_a_word(server, log, refused, tmp_path, capfd):
    """No progress bar, no line per mirror: a program that embeds fastnn decides what its users see."""
    home = tmp_path / "cache"
    mirrors = [refused, server.url("missing"), server.url("garbage"), server.url("good")]
    data = ds.load_mnist(data_home=home, mirrors=mirrors, timeout=5, verbose=False)
    assert data.source == "full" and _listing(home) == sorted(NAMES)
    assert len(log) == 3 * len(NAMES)  # it did download, past the failing mirrors
    assert capfd.readouterr() == ("", "")
    with pytest.raises(ds.MNISTDownloadError):  # and when every mirror fails
        ds.load_mnist(data_home=tmp_path / "other", mirrors=[refused, server.url("short")], verbose=False)
    assert capfd.readouterr() == ("", "")


def test_all_mirrors_failing_names_every_mirror_and_reason(server, log, refused, tmp_path):
    home = tmp_path / "cache"
    mirrors = [refused, server.url("missing"), server.url("garbage"),
               server.url("slow"), server.url("short"), server.url("html")]
    with pytest.raises(ds.MNISTDownloadError) as e:
        ds.load_mnist(data_home=home, mirrors=mirrors, timeout=TIMEOUT, verbose=False)
    err = e.value
    assert isinstance(err, OSError)
    name = "train-images-idx3-ubyte.gz"
    assert err.file == name and err.dest == home / name
    urls = [m + name for m in mirrors]
    assert [u for u, _ in err.attempts] == urls
    reasons = dict(err.attempts)
    expect = {
        urls[0]: "connection refused",
        urls[1]: "HTTP 404",
        urls[2]: "checksum mismatch: expected sha256 "
                 "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609, got ",
        urls[3]: "timed out",
        urls[4]: "truncated",
        urls[5]: "wrong size: server announced",
    }
    message = str(err)
    for url, reason in expect.items():
        assert reason in reasons[url], (url, reasons[url])
        assert f"{url}: {reasons[url]}" in message
    assert name in message and "FASTNN_MNIST_MIRROR" in message
    # nothing was left behind: no partial file, no temporary file
    assert _listing(home) == []


def test_mirror_environment_variable(server, log, monkeypatch, tmp_path):
    monkeypatch.setenv("FASTNN_MNIST_MIRROR",
                       f"{server.url('missing')} ,\t{server.url('good')}")
    home = tmp_path / "cache"
    paths = ds.fetch_mnist(data_home=home, verbose=False)  # mirrors=None
    assert sorted(p.name for p in paths.values()) == sorted(NAMES)
    assert _listing(home) == sorted(NAMES)
    assert log[:2] == [f"/missing/{NAMES[0]}", f"/good/{NAMES[0]}"]
    assert len(log) == 8


def test_damaged_cached_files_are_reported_and_fetched_again(
        server, log, mnist_dir, tmp_path):
    home = _copy_originals(mnist_dir, tmp_path / "cache")
    flipped = home / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(flipped.read_bytes())
    data[100] ^= 0x01
    flipped.write_bytes(bytes(data))
    short = home / "train-labels-idx1-ubyte.gz"
    short.write_bytes(short.read_bytes()[:1000])
    with pytest.warns(RuntimeWarning) as record:
        result = ds.load_mnist(data_home=home, mirrors=[server.url("good")], verbose=False)
    messages = " ".join(str(w.message) for w in record)
    assert "t10k-labels-idx1-ubyte.gz" in messages and "checksum mismatch" in messages
    assert "train-labels-idx1-ubyte.gz" in messages and "size is 1000 bytes" in messages
    assert sorted(log) == sorted(["/good/t10k-labels-idx1-ubyte.gz",
                                  "/good/train-labels-idx1-ubyte.gz"])
    assert _listing(home) == sorted(NAMES)
    for spec in ds.MNIST_FILES.values():
        assert _sha(home / spec.name) == spec.sha256
    assert np.bincount(result.y_train).tolist() == TRAIN_COUNTS


def test_download_false_with_missing_files_raises_clear_error(server, log, tmp_path):
    home = tmp_path / "nothing-here"
    with pytest.raises(ds.MNISTCacheError) as e:
        ds.load_mnist(data_home=home, download=False, mirrors=[server.url("good")])
    message = str(e.value)
    assert isinstance(e.value, OSError)
    for name in NAMES:
        assert str(home / name) in message
    assert "missing" in message and "download=True" in message
    assert len(e.value.problems) == 4
    assert log == [] and not home.exists()


def test_download_false_with_damaged_file_names_it(server, log, mnist_dir, tmp_path):
    home = _copy_originals(mnist_dir, tmp_path / "cache")
    bad = home / "t10k-images-idx3-ubyte.gz"
    data = bytearray(bad.read_bytes())
    data[5000] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(ds.MNISTCacheError) as e:
        ds.load_mnist(data_home=home, download=False)
    message = str(e.value)
    assert str(bad) in message and "checksum mismatch" in message
    assert ds.MNIST_FILES["test_images"].sha256 in message
    assert [p for p, _ in e.value.problems] == [bad]
    assert bad.read_bytes() == bytes(data)  # download=False leaves the cache alone
    assert log == []


def _damage_file(path, kind, mnist_dir):
    raw = path.read_bytes()
    if kind == "truncated":
        path.write_bytes(raw[:len(raw) // 3])
    elif kind == "flipped_byte":
        b = bytearray(raw)
        b[len(b) // 2] ^= 0x10
        path.write_bytes(bytes(b))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "wrong_file":  # another MNIST file under this name
        other = {"train-images-idx3-ubyte.gz": "t10k-images-idx3-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz": "train-images-idx3-ubyte.gz",
                 "train-labels-idx1-ubyte.gz": "t10k-labels-idx1-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz": "train-labels-idx1-ubyte.gz"}[path.name]
        shutil.copyfile(mnist_dir / other, path)
    return path.read_bytes()


DAMAGES = {"truncated": "size is", "flipped_byte": "checksum mismatch", "empty": "size is 0 bytes",
           "wrong_file": "size is"}


@pytest.mark.parametrize("kind", list(DAMAGES))
@pytest.mark.parametrize("key", list(ds.MNIST_FILES))
def test_each_damaged_cached_file_is_detected_then_reported_or_fetched_again(
        key, kind, server, log, mnist_dir, tmp_path):
    spec = ds.MNIST_FILES[key]
    home = _copy_originals(mnist_dir, tmp_path / "cache")
    bad = home / spec.name
    damaged = _damage_file(bad, kind, mnist_dir)
    # download=False: reported, naming the file and what is wrong; never used, never touched
    with pytest.raises(ds.MNISTCacheError) as e:
        ds.fetch_mnist(data_home=home, download=False, mirrors=[server.url("good")], verbose=False)
    message = str(e.value)
    assert str(bad) in message and DAMAGES[kind] in message
    assert [p for p, _ in e.value.problems] == [bad]
    assert bad.read_bytes() == damaged and log == []
    # download=True: a warning names it, it alone is fetched again, and the cache is whole
    with pytest.warns(RuntimeWarning, match=f"{spec.name}.*{DAMAGES[kind]}"):
        paths = ds.fetch_mnist(data_home=home, mirrors=[server.url("good")], verbose=False)
    assert log == [f"/good/{spec.name}"]
    assert paths[key] == bad and _sha(bad) == spec.sha256
    assert _listing(home) == sorted(NAMES)


@pytest.mark.parametrize("mode", ["short", "reset"])
def test_download_cut_mid_file_leaves_no_file_under_the_final_name(
        mode, server, log, mnist_dir, tmp_path):
    """A damaged cached file is deleted; when its download then breaks part
    way, neither the partial download nor the damaged file is left under
    the file's name (the next call sees it missing), nor a temporary file."""
    home = _copy_originals(mnist_dir, tmp_path / "cache")
    bad = home / "t10k-images-idx3-ubyte.gz"
    _damage_file(bad, "truncated", mnist_dir)
    with pytest.warns(RuntimeWarning, match="t10k-images"), pytest.raises(ds.MNISTDownloadError) as e:
        ds.fetch_mnist(data_home=home, mirrors=[server.url(mode)], timeout=5, verbose=False)
    assert e.value.file == bad.name
    reason = dict(e.value.attempts)[server.url(mode) + bad.name]
    assert "truncated" in reason or "reset" in reason or "closed" in reason, reason
    assert _listing(home) == sorted(n for n in NAMES if n != bad.name)
    with pytest.raises(ds.MNISTCacheError, match="missing"):
        ds.fetch_mnist(data_home=home, download=False)


def test_ctrl_c_during_a_download_leaves_no_partial_file(server, log, mnist_dir, tmp_path):
    home = _copy_originals(mnist_dir, tmp_path / "cache")
    (home / "train-labels-idx1-ubyte.gz").unlink()
    server.stalled.clear()
    main = threading.main_thread().ident

    def ctrl_c_when_stalled():
        if server.stalled.wait(10):
            time.sleep(0.05)
            signal.pthread_kill(main, signal.SIGINT)  # a real signal: it interrupts the blocked read

    thread = threading.Thread(target=ctrl_c_when_stalled, daemon=True)
    thread.start()
    with pytest.raises(KeyboardInterrupt):
        ds.fetch_mnist(data_home=home, mirrors=[server.url("stall")], timeout=SLOW_DELAY * 4, verbose=False)
    thread.join()
    assert server.stalled.is_set()
    assert _listing(home) == sorted(n for n in NAMES if n != "train-labels-idx1-ubyte.gz")


def test_verified_cache_needs_no_network_and_no_write_access(mnist_dir, refused, log):
    data = ds.load_mnist(data_home=mnist_dir, mirrors=[refused], verbose=False)
    assert data.X_train.shape == (60000, 28, 28) and log == []
    assert _listing(mnist_dir) == sorted(NAMES + ["README.md"])


# --------------------------------------------------------------------------
# the bundled sample and the fallback
# --------------------------------------------------------------------------
def test_sample_is_a_real_subset_of_the_originals(mnist_dir):
    sample = ds.load_mnist_sample()
    assert sample.source == "sample" and sample.is_sample and sample.reason is None
    X_train, y_train, X_test, y_test = sample
    assert X_train.shape == (8000, 28, 28) and X_test.shape == (2000, 28, 28)
    assert X_train.dtype == np.uint8 and y_train.dtype == np.int64
    folder = ds.mnist_sample_dir()
    for prefix, X, y, n_orig in (("train", X_train, y_train, 60000),
                                 ("t10k", X_test, y_test, 10000)):
        idx = ds.read_idx(folder / f"{prefix}-indices-idx1-int32.gz")
        assert idx.shape == (len(X),) and np.all(np.diff(idx) > 0)
        assert idx.min() >= 0 and idx.max() < n_orig
        # byte-for-byte, straight from the original gzip files (not via read_idx)
        images = gzip.decompress((mnist_dir / f"{prefix}-images-idx3-ubyte.gz").read_bytes())
        labels = gzip.decompress((mnist_dir / f"{prefix}-labels-idx1-ubyte.gz").read_bytes())
        for k in (0, 1, len(X) // 2, len(X) - 1):
            j = int(idx[k])
            assert X[k].tobytes() == images[16 + 784 * j: 16 + 784 * (j + 1)]
            assert y[k] == labels[8 + j]
        # and all of them
        orig = np.frombuffer(images, np.uint8, offset=16).reshape(n_orig, 28, 28)
        np.testing.assert_array_equal(X, orig[idx])
        orig_y = np.frombuffer(labels, np.uint8, offset=8)
        np.testing.assert_array_equal(y, orig_y[idx])
        # stratified: every digit in proportion to the original (to within one)
        expected = np.bincount(orig_y, minlength=10) * len(X) / n_orig
        assert np.all(np.abs(np.bincount(y, minlength=10) - expected) < 1)


def test_sample_installed_size_and_notice():
    folder = ds.mnist_sample_dir()
    assert folder.parent == Path(ds.__file__).resolve().parent  # inside the package
    files = [p for p in folder.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    assert total <= 2_000_000, f"the bundled sample takes {total} bytes"
    notice = (folder / "README.md").read_text()
    for words in ("CC BY-SA 3.0", "Yann LeCun", "Corinna Cortes",
                  "Christopher J. C. Burges", "default_rng"):
        assert words in notice
    flat = ds.load_mnist_sample(flatten=True)
    assert flat.X_train.shape == (8000, 784) and flat.X_test.shape == (2000, 784)


def test_fallback_returns_sample_with_reason(server, log, refused, tmp_path):
    home = tmp_path / "cache"
    mirrors = [refused, server.url("missing")]
    with pytest.warns(ds.MNISTSampleWarning, match="using the MNIST sample") as caught:
        data = ds.load_mnist_or_sample(data_home=home, mirrors=mirrors, timeout=2,
                                       verbose=False)
    assert len(caught) == 1 and all(m + NAMES[0] in str(caught[0].message) for m in mirrors)
    assert data.is_sample and data.source == "sample"
    assert data.X_train.shape == (8000, 28, 28)
    assert "MNISTDownloadError" in data.reason
    for m in mirrors:
        assert m + NAMES[0] in data.reason
    assert "connection refused" in data.reason and "HTTP 404" in data.reason
    assert _listing(home) == []
    with pytest.warns(ds.MNISTSampleWarning, match="download=False"):
        off = ds.load_mnist_or_sample(data_home=home, download=False, flatten=True,
                                      verbose=False)
    assert off.is_sample and "download=False" in off.reason
    assert off.X_train.shape == (8000, 784)


def test_fallback_returns_full_data_when_available(mnist_dir, refused):
    data = ds.load_mnist_or_sample(data_home=mnist_dir, mirrors=[refused], verbose=False)
    assert data.source == "full" and data.reason is None
    assert len(data.X_train) == 60000


def test_mnist_data_unpacks_as_four_tuple():
    sample = ds.load_mnist_sample()
    assert len(sample) == 4 and len(tuple(sample)) == 4
    assert sample[0] is sample.X_train and sample[3] is sample.y_test
    assert "sample" in repr(sample) and "(8000, 28, 28)" in repr(sample)


# --------------------------------------------------------------------------
# split, normalisation, the whole work flow
# --------------------------------------------------------------------------
def test_train_val_split_is_stratified_disjoint_and_reproducible():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 1003)
    X = np.arange(len(y))
    tr, va = ds.train_val_indices(y, 0.2, seed=5)
    assert len(va) == round(0.2 * len(y)) and len(tr) + len(va) == len(y)
    assert np.intersect1d(tr, va).size == 0
    expected = np.bincount(y) * 0.2
    assert np.all(np.abs(np.bincount(y[va], minlength=10) - expected) < 1)
    split = ds.train_val_split(X, y, 0.2, seed=5)
    np.testing.assert_array_equal(split.X_train, tr)
    np.testing.assert_array_equal(split.X_val, va)
    np.testing.assert_array_equal(split.y_val, y[va])
    again = ds.train_val_split(X, y, 0.2, seed=5)
    np.testing.assert_array_equal(again.X_val, split.X_val)
    other = ds.train_val_split(X, y, 0.2, seed=6)
    assert not np.array_equal(other.X_val, split.X_val)
    plain = ds.train_val_split(X, y, 0.25, seed=1, stratify=False)
    assert len(plain.X_val) == round(0.25 * len(y))
    for bad in (0, 1, -0.1, 1.5):
        with pytest.raises(ValueError):
            ds.train_val_split(X, y, bad)
    with pytest.raises(ValueError):
        ds.train_val_split(X[:-1], y, 0.1)


def test_normalizer_minmax_maps_0_255_to_unit_interval():
    X = np.array([[0, 51, 255], [255, 0, 102]], dtype=np.uint8)
    norm = ds.Normalizer("minmax").fit(X)
    assert (norm.min_, norm.max_) == (0.0, 255.0)
    Z = norm.transform(X)
    assert Z.dtype == np.float32 and Z.min() == 0.0 and Z.max() == 1.0
    np.testing.assert_array_equal(Z, X.astype(np.float32) / np.float32(255))
    fixed = ds.Normalizer("minmax", value_range=(0, 255)).fit(X[:, :2] // 2)
    np.testing.assert_array_equal(fixed.transform(X), Z)
    np.testing.assert_allclose(norm.inverse_transform(Z), X, atol=1e-4)


def test_normalizer_standardize_and_zero_std_guard():
    rng = np.random.default_rng(3)
    X = rng.integers(0, 256, (200, 4, 4)).astype(np.uint8)
    X[:, 0, 0] = 0   # constant pixel: per-pixel std 0
    glob = ds.Normalizer("standardize").fit(X)
    assert glob.mean_ == pytest.approx(X.mean(dtype=np.float64), rel=1e-12)
    assert glob.std_ == pytest.approx(X.std(dtype=np.float64), rel=1e-12)
    Z = glob.transform(X)
    assert abs(Z.mean()) < 1e-5 and abs(Z.std() - 1) < 1e-5
    pp = ds.Normalizer("standardize", per_pixel=True).fit(X)
    assert pp.mean_.shape == (4, 4) and pp.scale_[0, 0] == 1.0
    Zp = pp.transform(X)
    assert np.isfinite(Zp).all() and np.all(Zp[:, 0, 0] == 0)
    np.testing.assert_allclose(Zp[:, 1:, 1:].std(axis=0), 1, rtol=1e-5)
    # flattened input works with statistics fitted on (n, 4, 4)
    np.testing.assert_allclose(pp.transform(X.reshape(200, 16)), Zp.reshape(200, 16))
    with pytest.raises(ValueError):
        pp.transform(np.zeros((2, 5, 5)))
    with pytest.raises(RuntimeError, match="not fitted"):
        ds.Normalizer("standardize").transform(X)
    with pytest.raises(ValueError):
        ds.Normalizer("zscore")
    clone = ds.Normalizer.from_dict(pp.to_dict())
    np.testing.assert_array_equal(clone.transform(X), Zp)


def test_normalizer_statistics_come_from_the_training_split_only():
    rng = np.random.default_rng(4)
    train = rng.integers(0, 51, (300, 28, 28)).astype(np.uint8)
    wild = rng.integers(200, 256, (300, 28, 28)).astype(np.uint8)
    norm = ds.Normalizer("standardize").fit(train)
    before = (norm.mean_, norm.std_)
    norm.transform(wild)
    assert (norm.mean_, norm.std_) == before  # transform never refits
    assert norm.mean_ == pytest.approx(train.mean(dtype=np.float64), rel=1e-12)


@pytest.mark.parametrize("method", ["minmax", "standardize"])
@pytest.mark.parametrize("per_pixel", [False, True])
def test_prepare_mnist_fits_on_the_training_split_only(method, per_pixel):
    """Validation and test data are made wildly different from the training
    split: had either leaked into the fitted statistics, they would differ
    from those of the training split alone."""
    rng = np.random.default_rng(5)
    n = 600
    y = np.arange(n) % 10
    X = rng.integers(0, 51, (n, 28, 28)).astype(np.uint8)          # 0..50
    tr, va = ds.train_val_indices(y, 0.25, seed=11)
    X[va] = rng.integers(200, 256, (len(va), 28, 28))               # 200..255
    X_test = rng.integers(100, 256, (120, 28, 28)).astype(np.uint8)
    y_test = np.arange(120) % 10
    p = ds.prepare_mnist((X, y, X_test, y_test), val_fraction=0.25, seed=11,
                         method=method, per_pixel=per_pixel)
    norm = p.normalizer
    Xtr = X[tr].astype(np.float64)
    axis = 0 if per_pixel else None
    if method == "standardize":
        np.testing.assert_allclose(norm.mean_, Xtr.mean(axis=axis), rtol=1e-12)
        np.testing.assert_allclose(norm.std_, Xtr.std(axis=axis), rtol=1e-12)
        assert np.max(norm.mean_) < 51
    else:
        np.testing.assert_array_equal(norm.min_, Xtr.min(axis=axis))
        np.testing.assert_array_equal(norm.max_, Xtr.max(axis=axis))
        assert np.max(norm.max_) == 50
    assert norm.n_samples_ == len(tr)
    # every set is transformed with the training parameters
    shift = np.asarray(norm.shift_).reshape(-1) if per_pixel else norm.shift_
    scale = np.asarray(norm.scale_).reshape(-1) if per_pixel else norm.scale_
    for Z, raw in ((p.X_train, X[tr]), (p.X_val, X[va]), (p.X_test, X_test)):
        expect = (raw.reshape(len(raw), -1).astype(np.float64) - shift) / scale
        np.testing.assert_allclose(Z, expect, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(p.y_train, y[tr])
    np.testing.assert_array_equal(p.y_val, y[va])
    assert p.X_train.shape == (len(tr), 784) and p.X_train.dtype == np.float32
    assert p.reports["train"].n_removed == 0 and p.reports["test"].n_removed == 0
    assert len(tuple(p)) == 6


# --------------------------------------------------------------------------
# corrupted images
# --------------------------------------------------------------------------
def test_find_corrupted_catches_each_kind():
    rng = np.random.default_rng(6)
    images = [rng.integers(0, 256, (28, 28)).astype(np.uint8) for _ in range(20)]
    labels = [i % 10 for i in range(20)]
    images[0] = None                                      # unreadable
    images[1] = np.zeros((27, 28), np.uint8)              # wrong shape
    labels[2] = 10                                        # label out of range
    labels[3] = -1
    labels[4] = 2.5                                       # not an integer
    images[5] = images[5].astype(np.float64)
    images[5][3, 3] = np.nan                              # non-finite
    images[6] = images[6].astype(np.float64)
    images[6][0, 0] = np.inf
    images[7] = images[7].astype(np.int16)
    images[7][10, 10] = 300                               # out of range
    images[8] = images[8].astype(np.int16)
    images[8][1, 1] = -1
    images[10] = images[9].copy()                         # same image, labels 9 and 0
    images[12] = images[11].reshape(784).copy()           # same image, same label
    labels[12] = labels[11]
    report = ds.find_corrupted(images, labels)
    assert report.counts == {"unreadable": 1, "wrong_shape": 1, "bad_label": 3,
                             "non_finite": 2, "out_of_range": 2,
                             "conflicting_duplicate": 2}
    assert report.indices["conflicting_duplicate"].tolist() == [9, 10]
    assert report.bad_indices.tolist() == list(range(11))
    assert report.n_removed == 11 and report.n_kept == 9
    text = str(report)
    assert "removed 11 of 20 images" in text and "conflicting labels" in text
    X, y, rep = ds.clean(images, labels)
    assert rep.counts == report.counts
    assert X.shape == (9, 28, 28) and y.dtype == np.int64
    assert y.tolist() == [labels[i] for i in range(11, 20)]
    np.testing.assert_array_equal(X[1], images[12].reshape(28, 28))


def test_find_corrupted_on_arrays():
    rng = np.random.default_rng(7)
    X = rng.random((30, 784)).astype(np.float32) * 255
    y = np.arange(30) % 10
    X[3, 5] = np.nan
    X[4, 6] = 255.5
    X[7] = X[8]
    report = ds.find_corrupted(X, y)
    assert report.indices["non_finite"].tolist() == [3]
    assert report.indices["out_of_range"].tolist() == [4]
    assert report.indices["conflicting_duplicate"].tolist() == [7, 8]
    Xc, yc, _ = ds.clean(X, y)
    assert Xc.shape == (26, 784) and len(yc) == 26
    # normalised data: say so with value_range
    assert ds.find_corrupted(X[:3] / 255, y[:3], value_range=(0, 1)).n_removed == 0
    wrong = ds.find_corrupted(np.zeros((5, 27, 27), np.uint8), np.arange(5))
    assert wrong.counts["wrong_shape"] == 5
    Xw, yw, _ = ds.clean(np.zeros((5, 27, 27), np.uint8), np.arange(5))
    assert Xw.shape == (0, 28, 28) and yw.shape == (0,)
    with pytest.raises(ValueError):
        ds.find_corrupted(X, y[:-1])
    sample = ds.load_mnist_sample()
    assert ds.find_corrupted(sample.X_train, sample.y_train).n_removed == 0
    # a long list of per-image arrays of mixed dtypes
    items = [img.astype(np.int32) if i % 2 else img for i, img in enumerate(sample.X_test[:100])]
    X_list, y_list, rep = ds.clean(items, list(sample.y_test[:100]))
    assert rep.n_removed == 0 and X_list.shape == (100, 28, 28)
    np.testing.assert_array_equal(X_list, sample.X_test[:100])
    assert y_list.dtype == np.int64 and y_list.tolist() == sample.y_test[:100].tolist()


# --------------------------------------------------------------------------
# plotting
# --------------------------------------------------------------------------
def test_plot_samples_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    sample = ds.load_mnist_sample()
    path = ds.plot_samples(sample.X_train, sample.y_train, tmp_path / "grid.png",
                           per_class=4)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 100 and height > 300  # 10 rows of images
    flat = ds.load_mnist_sample(flatten=True)
    out = ds.plot_samples(flat.X_test[:50], flat.y_test[:50], tmp_path / "sub" / "f.png",
                          per_class=3, seed=0, title="test")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_samples_without_matplotlib_says_how_to_install(monkeypatch, tmp_path):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError) as e:
        ds.plot_samples(np.zeros((2, 28, 28)), [0, 1], tmp_path / "x.png")
    assert 'pip install "fastnn-mlp[plot]"' in str(e.value)
    assert "pip install matplotlib" in str(e.value)
    assert not (tmp_path / "x.png").exists()


def test_argument_errors_name_the_argument():
    """Hardening issue: the problems the fuzz found, each an error naming its argument."""
    with pytest.raises(TypeError, match="dtype"):
        ds.Normalizer(dtype=None)  # was silently float64
    norm = ds.Normalizer().fit(np.arange(12.0).reshape(2, 6))
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match="X contains NaN"):
            norm.transform(np.full((1, 6), bad))  # was passed through
    assert norm.transform(np.zeros((0, 6))).shape == (0, 6)
    with pytest.raises(TypeError, match="image_shape"):
        ds.find_corrupted(np.zeros((2, 2, 2)), [0, 1], image_shape=(2.5, 2))  # was truncated to (2, 2)
    with pytest.raises(TypeError, match="val_fraction"):
        ds.train_val_split(np.zeros((4, 2)), [0, 1, 0, 1], val_fraction="abc")
    with pytest.raises(ValueError, match="seed"):
        ds.train_val_indices([0, 1, 0, 1], seed=-1)
    with pytest.raises(TypeError, match="timeout"):  # checked before falling back to the sample
        ds.load_mnist_or_sample(download=False, timeout=None, verbose=False)
