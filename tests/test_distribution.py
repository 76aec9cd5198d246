"""The distribution: fastnn's wheel is ``fastnn-mlp``, and a package that
declares ``dependencies = ["fastnn-mlp>=0.1"]`` gets this fastnn.

fastnn's wheel is built from the source tree once per session (about a
minute: the C kernels are compiled). A tiny downstream package is built
too, then installed into a fresh virtual environment with ``pip install
--no-index --find-links <the two wheels> downstream``, and run there.

Nothing is downloaded after the build. fastnn's run-time dependencies,
NumPy and tqdm, come from this environment: the new one reads them through
a ``.pth`` file naming a folder that holds links to their packages and
``.dist-info`` folders only, so pip finds them installed (and checks their
versions against fastnn-mlp's requirements) while nothing else of this
environment, such as an older install of fastnn, is visible there.

fastnn's wheel is built without build isolation, offline, when this
environment has its build requirements (scikit-build-core, Cython, NumPy,
CMake); else pip fetches them, and the test is skipped if it cannot.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VERSION = re.search(r'__version__ = "([^"]+)"', (ROOT / "src" / "fastnn" / "_version.py").read_text()).group(1)
BIN = "Scripts" if os.name == "nt" else "bin"
# pip's words when it cannot reach an index (for the build requirements of an isolated build)
NO_INDEX = ("No matching distribution found", "Could not find a version that satisfies",
            "Failed to establish a new connection", "Temporary failure in name resolution",
            "Network is unreachable", "Max retries exceeded")


def _clean_env() -> dict[str, str]:
    """This environment, less what would make a child Python or pip see more than its own environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE="1")
    return env


def _run(args, timeout=600, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, check=False,
                          **kwargs)


def _tail(proc: subprocess.CompletedProcess, lines: int = 40) -> str:
    return "\n".join((proc.stdout + proc.stderr).splitlines()[-lines:])


def _can_build_offline() -> bool:
    """Whether this environment has fastnn's build requirements (pyproject.toml's [build-system])."""
    modules = ("scikit_build_core", "Cython", "numpy")
    cmake = shutil.which("cmake") or importlib.util.find_spec("cmake")
    return bool(cmake) and all(importlib.util.find_spec(m) for m in modules)


@pytest.fixture(scope="session")
def fastnn_wheel(tmp_path_factory) -> Path:
    if not (os.environ.get("CC") or any(shutil.which(cc) for cc in ("cc", "gcc", "clang"))):
        pytest.skip("no C compiler (cc, gcc or clang on PATH, or $CC) to build fastnn's wheel")
    out = tmp_path_factory.mktemp("fastnn-wheel")
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", out, ROOT]
    proc = _run([*build, "--no-build-isolation"], timeout=1200) if _can_build_offline() else None
    if proc is None or proc.returncode != 0:  # an isolated build, which fetches the build requirements
        first = proc
        proc = _run(build, timeout=1200)
        if proc.returncode != 0 and any(words in proc.stdout + proc.stderr for words in NO_INDEX):
            pytest.skip("cannot build fastnn's wheel: this environment lacks its build requirements "
                        f"(scikit-build-core, Cython, NumPy, CMake) and pip cannot fetch them:\n{_tail(proc, 8)}")
        assert proc.returncode == 0, (f"pip wheel failed:\n{_tail(proc)}"
                                      + (f"\n(the build without isolation too:\n{_tail(first)})" if first else ""))
    wheels = sorted(out.glob("*.whl"))
    assert [w.name.split("-")[:2] for w in wheels] == [["fastnn_mlp", VERSION]], wheels
    return wheels[0]


DOWNSTREAM_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "downstream"
version = "1.0"
dependencies = ["fastnn-mlp>=0.1"]

[tool.setuptools]
packages = ["downstream"]
"""

DOWNSTREAM_MODULE = '''\
"""A package built on fastnn: what it sees of it."""
import importlib.metadata as md

import numpy as np

import fastnn


def report():
    model = fastnn.Sequential([fastnn.Dense(2, 3, "relu"), fastnn.Dense(3, 2, "softmax")], seed=0)
    model.predict_proba(np.array([[0.05, 0.10]]))
    try:
        md.distribution("fastnn")
        other = True
    except md.PackageNotFoundError:
        other = False
    packages = md.packages_distributions() if hasattr(md, "packages_distributions") else None
    return {"version": fastnn.__version__, "build_version": fastnn.build_info()["version"],
            "file": fastnn.__file__, "dist_version": md.version("fastnn-mlp"), "other_fastnn": other,
            "provides_fastnn": None if packages is None else packages.get("fastnn"),
            "requires": md.requires("downstream")}
'''


def _setuptools_builds_wheels() -> bool:
    """setuptools builds wheels by itself from 70.1 on; before, it needs the wheel package."""
    try:
        major, minor = (int(p) for p in importlib.metadata.version("setuptools").split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


def _write_wheel(folder: Path, files: dict[str, str]) -> Path:
    """The downstream's wheel, written directly: the metadata setuptools would write from its pyproject.toml."""
    dist = "downstream-1.0.dist-info"
    files = {**files,
             f"{dist}/METADATA": "Metadata-Version: 2.1\nName: downstream\nVersion: 1.0\nRequires-Dist: fastnn-mlp>=0.1\n",
             f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: fastnn-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    files[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    path = folder / "downstream-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return path


@pytest.fixture(scope="session")
def downstream_wheel(tmp_path_factory) -> Path:
    """Built by setuptools from a pyproject.toml where this environment's setuptools can do it offline."""
    src = tmp_path_factory.mktemp("downstream-src")
    out = tmp_path_factory.mktemp("downstream-wheel")
    if not _setuptools_builds_wheels():
        return _write_wheel(out, {"downstream/__init__.py": DOWNSTREAM_MODULE})
    (src / "pyproject.toml").write_text(DOWNSTREAM_PYPROJECT)
    (src / "downstream").mkdir()
    (src / "downstream" / "__init__.py").write_text(DOWNSTREAM_MODULE)
    proc = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", out, src])
    assert proc.returncode == 0, _tail(proc)
    return next(out.glob("downstream-*.whl"))


def _borrow(names: tuple[str, ...], folder: Path) -> None:
    """Links in ``folder`` to the installed packages ``names`` (their top-level folders and .dist-info)."""
    folder.mkdir()
    for name in names:
        dist = importlib.metadata.distribution(name)
        tops = sorted({f.parts[0] for f in dist.files or () if f.parts[0] != ".."})
        if not tops:
            pytest.skip(f"{name} is installed without a list of its files (RECORD): cannot lend it to a new venv")
        for top in tops:
            source = Path(dist.locate_file(top))
            try:
                (folder / top).symlink_to(source, target_is_directory=source.is_dir())
            except OSError:  # no symbolic links here (Windows without the privilege): copy
                (shutil.copytree if source.is_dir() else shutil.copy2)(source, folder / top)


def test_a_downstream_package_gets_this_fastnn(fastnn_wheel, downstream_wheel, tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for wheel in (fastnn_wheel, downstream_wheel):
        shutil.copy2(wheel, wheels)
    env_dir = tmp_path / "env"
    proc = _run([sys.executable, "-m", "venv", env_dir], env=_clean_env())
    assert proc.returncode == 0, _tail(proc)
    python = env_dir / BIN / ("python.exe" if os.name == "nt" else "python")
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip()
    _borrow(("numpy", "tqdm"), tmp_path / "deps")
    (Path(site) / "borrowed-deps.pth").write_text(f"{tmp_path / 'deps'}\n")

    proc = _run([python, "-m", "pip", "install", "--no-index", "--find-links", wheels, "downstream"],
                env=_clean_env(), cwd=tmp_path)
    assert proc.returncode == 0, _tail(proc)
    installed = [line for line in proc.stdout.splitlines() if line.startswith("Successfully installed")]
    assert installed and sorted(installed[0].split()[2:]) == ["downstream-1.0", f"fastnn-mlp-{VERSION}"], proc.stdout

    code = "import json, downstream; print(json.dumps(downstream.report()))"
    proc = _run([python, "-I", "-c", code], env=_clean_env(), cwd=tmp_path)
    assert proc.returncode == 0, _tail(proc)
    assert proc.stderr == ""
    got = json.loads(proc.stdout)  # nothing else on stdout: import fastnn printed nothing
    assert got["version"] == got["build_version"] == got["dist_version"] == VERSION
    assert Path(got["file"]).resolve().is_relative_to(env_dir.resolve()), got["file"]  # not the source tree
    assert got["other_fastnn"] is False  # no distribution named fastnn: the unrelated project's name
    assert got["provides_fastnn"] in (None, ["fastnn-mlp"])
    assert got["requires"] == ["fastnn-mlp>=0.1"]

    proc = _run([env_dir / BIN / "fastnn", "--version"], env=_clean_env(), cwd=tmp_path)  # the command's name
    assert (proc.returncode, proc.stdout.strip()) == (0, f"fastnn {VERSION}"), _tail(proc)

