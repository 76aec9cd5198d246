"""A downstream package built on fastnn's C API (``fastnn/fastnn_api.h``)."""

from ._cdemo import api_version, bad_dimension_status, dense_forward, null_pointer_status, softmax_cross_entropy

__all__ = ["api_version", "bad_dimension_status", "dense_forward", "null_pointer_status", "softmax_cross_entropy"]
