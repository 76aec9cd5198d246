"""Files: the ``.npz`` container and model files (never pickled).

Models are saved with :meth:`fastnn.Sequential.save` and read with
:func:`fastnn.load`; this package holds the formats behind them.
"""

from .model_file import ModelFileError

__all__ = ["ModelFileError"]
