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


class _Validator(numpydoc_validate.Validator):
    """numpydoc's Validator, also for a module with no ``def`` or ``class`` line.

    numpydoc 1.11 looks for the object's first ``def``/``class`` line (to read
    ``# numpydoc ignore`` comments there) and raises StopIteration for a
    module that has none, such as a package ``__init__`` holding only a
    docstring and imports; such a module is taken to have no definition line.
    """

    def __init__(self, obj_name: str) -> None:
        super().__init__(numpydoc_validate.get_doc_object(numpydoc_validate.Validator._load_obj(obj_name)))

    @property
    def source_file_def_line(self):
        try:
            return super().source_file_def_line
        except StopIteration:
            return None


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
    objects the module defines or re-exports from a private module (such as
    build_info, defined in fastnn._runtime)."""
    module = importlib.import_module(module_name)
    out = [(module_name, False)]
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name)
        home = getattr(obj, "__module__", None) or ""
        private_home = home.startswith("fastnn.") and any(part.startswith("_") for part in home.split("."))
        if (home != module_name and not private_home) or not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue  # re-exported from another public module (checked there), or data
        out.append((f"{home}.{name}", False))
        if inspect.isclass(obj):
            for attr, value in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if inspect.isfunction(value) or isinstance(value, (property, classmethod, staticmethod)):
                    out.append((f"{home}.{name}.{attr}", _overrides(obj, attr)))
    return out


@pytest.mark.parametrize("module_name", _public_modules())
def test_public_docstrings_follow_numpydoc(module_name):
    if module_name.startswith("fastnn.sklearn"):
        pytest.importorskip("sklearn", reason="fastnn.sklearn needs scikit-learn (the [sklearn] extra)")
    problems = []
    for qualname, override in _public_objects(module_name):
        ignored = IGNORED | DOCUMENTED_IN_BASE if override else IGNORED
        result = numpydoc_validate.validate(qualname, validator_cls=_Validator)
        problems += [f"{qualname}: {code} {msg}" for code, msg in result["errors"] if code not in ignored]
    assert not problems, "\n".join(problems)
