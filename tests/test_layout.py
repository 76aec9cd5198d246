"""The package's shape: no import cycles, no module reading another's
private names, short functions, and an ``import fastnn`` that loads only
what it needs (no lecture-notes companion, no urllib.request, no tqdm or
matplotlib, none of the standard-library modules only some functions
need), prints nothing, starts no thread and installs no signal handler."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "fastnn"
TOOLS = Path(__file__).resolve().parents[1] / "tools"
NOT_SOURCE = {"fastnn._core", "fastnn._build_config"}  # compiled, or generated at build time


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, tuple[Path, ast.Module]]:
    return {_module_name(p): (p, ast.parse(p.read_text(), filename=str(p))) for p in sorted(SRC.rglob("*.py"))}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(modules: dict[str, tuple[Path, ast.Module]]) -> dict[str, set[str]]:
    """Module -> the fastnn modules it imports (anywhere in it, except
    under ``if TYPE_CHECKING:``), resolving ``from pkg import submodule``."""
    graph: dict[str, set[str]] = {}
    for name, (path, tree) in modules.items():
        deps: set[str] = set()
        skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING") for n in ast.walk(node)}
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("fastnn"))
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(name, path.name == "__init__.py", node)
                if not target.startswith("fastnn"):
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    if sub not in NOT_SOURCE:
                        deps.add(sub if sub in modules else target)
        deps.discard(name)
        graph[name] = {d for d in deps if d in modules}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycles_between_modules():
    graph = _imports(_modules())
    # a package's __init__ re-exports its modules: an edge from a module to
    # its own package's __init__ would be the cycle, and is what we look for
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def _own_private_names(tree: ast.Module) -> set[str]:
    """Underscore names a module defines: functions, classes, methods,
    attributes assigned anywhere in it (``x._name = ...``), module globals."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if n.startswith("_")}


def test_no_module_reads_another_modules_private_names():
    modules = _modules()
    private_modules = {name.rsplit(".", 1)[-1] for name in modules if name.rsplit(".", 1)[-1].startswith("_")}
    private_modules |= {"_core", "_build_config"}
    problems = []
    for path, tree in modules.values():
        own = _own_private_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.name.startswith("_") and alias.name not in private_modules \
                            and not alias.name.startswith("__"):
                        problems.append(f"{path.name}:{node.lineno}: imports {alias.name} from {node.module}")
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_")) or node.attr.startswith("__"):
                continue
            base = node.value
            if isinstance(base, ast.Name) and (base.id in ("self", "cls") or base.id in private_modules):
                continue
            if node.attr in own:
                continue  # the module's own private name, on another instance of its own class
            problems.append(f"{path.relative_to(SRC)}:{node.lineno}: {ast.unparse(node)}")
    assert not problems, "\n".join(problems)


def test_no_function_is_longer_than_80_lines_without_a_reason():
    res = subprocess.run([sys.executable, str(TOOLS / "function_lengths.py"), "--top", "5", "--limit", "80",
                          str(SRC)], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr


# standard-library modules only some functions need, imported by them: at
# the top of a module they would make ``import fastnn`` slower (measured
# by bench/import_time.py)
DEFERRED_STDLIB = ("pathlib", "urllib.parse", "json", "tempfile", "zipfile", "csv", "signal", "threading", "secrets",
                   "random", "hashlib")


def test_import_fastnn_loads_only_the_core():
    # what import fastnn adds to what import numpy loads (numpy versions differ in what they load)
    code = ("import sys, numpy\nbase = set(sys.modules)\nimport fastnn\nnew = set(sys.modules) - base\n"
            "print(sorted(m for m in new if m.startswith(('fastnn.course', 'fastnn.datasets', "
            "'urllib.request', 'http.client', 'tqdm', 'matplotlib', 'sklearn', 'torch', 'onnx'))))\n"
            f"print(sorted(new & set({DEFERRED_STDLIB!r})))\n"
            "import threading; print(threading.active_count())")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert len(res.stdout.splitlines()) == 3, res.stdout  # import fastnn printed something
    mods, stdlib, threads = res.stdout.splitlines()
    assert mods == "[]"
    assert stdlib == "[]"
    assert threads == "1"  # no worker thread before the first kernel call
    assert res.stderr == ""  # and it prints nothing


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts the threads in /proc/self/task")
def test_import_fastnn_prints_nothing_starts_no_thread_and_installs_no_signal_handler():
    """Also threads started from C (an OpenMP or BLAS pool: threading does
    not see them), and with every warning shown (-X dev)."""
    code = ("import os, signal, numpy\n"
            "def handlers(): return {s: signal.getsignal(s) for s in signal.valid_signals()}\n"
            "before = (len(os.listdir('/proc/self/task')), handlers())\n"
            "import fastnn\n"
            "after = (len(os.listdir('/proc/self/task')), handlers())\n"
            "assert after[0] == before[0], f'threads: {before[0]} before import fastnn, {after[0]} after'\n"
            "assert after[1] == before[1], {s: (before[1][s], after[1][s]) for s in before[1] "
            "if before[1][s] != after[1][s]}\n"
            "assert signal.getsignal(signal.SIGINT) is signal.default_int_handler\n")
    res = subprocess.run([sys.executable, "-X", "dev", "-c", code], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert (res.stdout, res.stderr) == ("", "")
    # and on its own, without numpy imported first
    res = subprocess.run([sys.executable, "-X", "dev", "-c", "import fastnn"], capture_output=True, text=True,
                         check=False)
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")


@pytest.mark.parametrize("name, module", [
    ("explain", "fastnn.course.explain"), ("Perceptron", "fastnn.course.perceptron"),
    ("train_mnist", "fastnn.course.mnist"), ("examples", "fastnn.course.examples"),
    ("datasets", "fastnn.datasets"), ("kernels", "fastnn.kernels"), ("reference", "fastnn.reference")])
def test_lazy_names_load_their_module_on_first_use(name, module):
    code = (f"import sys, fastnn\nassert {module!r} not in sys.modules\n"
            f"obj = fastnn.{name}\nassert {module!r} in sys.modules\nassert obj is fastnn.{name}\n"
            f"assert {name!r} in dir(fastnn)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_unknown_attribute_is_an_attribute_error():
    import fastnn

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        fastnn.nope  # noqa: B018
