"""A downstream package built on fastnn's Cython API (``fastnn.cython_kernels``)."""

from ._demo import dense_forward, null_pointer_status, sgd_train_step, status_of_bad_width

__all__ = ["dense_forward", "null_pointer_status", "sgd_train_step", "status_of_bad_width"]
