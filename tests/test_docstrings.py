"""The public API's docstrings follow numpydoc, checked by numpydoc itself
(as scikit-learn's test_docstrings does): every public class, function,
method and property of every public module, one test per module.

Not required: an extended summary (ES01), See Also (SA01) and Examples
(EX01) on every object, and SS05 (its "infinitive verb" heuristic takes
any first word ending in "s", such as "Class labels", for a verb).  A
method overriding a documented method of a fastnn base class (a callback's
hooks, an optimizer's update) may leave its parameters and return value to
the base class's docstring (PR01, RT01).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate", reason="numpydoc is not installed (pip install numpydoc)")

import fastnn

IGNORED = {"ES01", "SA01", "EX01", "SS05"}
DOCUMENTED_IN_BASE = {"PR01", "RT01"}

# While the package's docstrings are being converted to numpydoc (issue 11);
# removed when they all pass.
pytestmark = pytest.mark.xfail(reason="docstrings being converted to numpydoc", strict=False)


def _public_modules() -> list[str]:
    names = ["fastnn"]
    for info in pkgutil.walk_packages(fastnn.__path__, "fastnn."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def _overrides(cls: type, attr: str) -> bool:
    """Whether ``cls.attr`` overrides a documented method of a fastnn base class."""
    for base in cls.__mro__[1:]:
        if attr in vars(base) and base.__module__.startswith("fastnn") and getattr(base, attr).__doc__:
            return True
    return False


def _public_objects(module_name: str) -> list[tuple[str, bool]]:
    """(qualified name, overrides a documented base method) of the public
    objects defined in the module."""
    module = importlib.import_module(module_name)
    out = [(module_name, False)]
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name)
        if getattr(obj, "__module__", None) != module_name or not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue  # re-exported, or data
        out.append((f"{module_name}.{name}", False))
        if inspect.isclass(obj):
            for attr, value in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if inspect.isfunction(value) or isinstance(value, (property, classmethod, staticmethod)):
                    out.append((f"{module_name}.{name}.{attr}", _overrides(obj, attr)))
    return out


@pytest.mark.parametrize("module_name", _public_modules())
def test_public_docstrings_follow_numpydoc(module_name):
    problems = []
    for qualname, override in _public_objects(module_name):
        ignored = IGNORED | DOCUMENTED_IN_BASE if override else IGNORED
        try:
            result = numpydoc_validate.validate(qualname)
        except StopIteration:
            # numpydoc 1.11 fails to locate the source of a module with no def
            # or class line (a package __init__ that only re-exports): its
            # docstring is then held to the one rule that applies, a summary
            assert qualname == module_name and (importlib.import_module(qualname).__doc__ or "").strip(), qualname
            continue
        problems += [f"{qualname}: {code} {msg}" for code, msg in result["errors"] if code not in ignored]
    assert not problems, "\n".join(problems)
