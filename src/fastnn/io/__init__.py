"""Files: the ``.npz`` container and model files (never pickled).

Models are saved with :meth:`fastnn.Sequential.save` and read with
:func:`fastnn.load`; this package holds the formats behind them
(:mod:`~fastnn.io.npz`, :mod:`~fastnn.io.model_file`, written through
:mod:`~fastnn.io.atomic`), and other frameworks' formats:
:mod:`~fastnn.io.onnx_export` and :mod:`~fastnn.io.torch_export` (which
``fastnn.nn`` uses), :mod:`~fastnn.io.onnx_import`,
:mod:`~fastnn.io.torch_import` and :mod:`~fastnn.io.sklearn_import` (which
build ``fastnn.nn`` models, through :mod:`~fastnn.io.convert`; this
package does not import them).
"""

from .model_file import ModelFileError

__all__ = ["ModelFileError"]
