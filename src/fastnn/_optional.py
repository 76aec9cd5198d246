"""Optional dependencies.

Imported only when a feature needs them, with a message saying what to install when they are
missing.

``import fastnn`` never imports any of them.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module`` for ``feature``, or raise ImportError saying how to get it.

    Parameters
    ----------
    module : str
        The module to import, e.g. "matplotlib".
    extra : str
        fastnn's optional extra that installs it, e.g. "plot".
    feature : str
        What needs it, for the message, e.g. "History.plot".

    Returns
    -------
    types.ModuleType
        The imported module.

    Raises
    ------
    ImportError
        When the module cannot be imported; the message names the install command.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        top = module.split(".")[0]
        raise ImportError(f'{feature} needs {top}: pip install "fastnn-mlp[{extra}]" (or pip install {top})') from e
