"""What every coordinate conversion shares: the two errors and the float-array types.

No Django import, like core/crs.py and core/gcj02.py, which use it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


class CRSError(ValueError):
    """The coordinate system named by the caller is unknown or not supported."""


class CoordinateError(ValueError):
    """A coordinate is not a finite number, is out of range, or cannot be converted.

    ``index`` is the position of the first offending coordinate in the input array (an int for
    1-D input, a tuple for N-D input) or None for scalar input.
    """

    def __init__(self, message: str, *, index: int | tuple[int, ...] | None = None):
        super().__init__(message)
        self.index = index


def as_float_pair(x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Both inputs as new float64 arrays of one shape (CoordinateError otherwise)."""
    try:
        xs = np.array(x, dtype=np.float64)
        ys = np.array(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CoordinateError("Coordinates must be numbers.") from exc
    if xs.shape != ys.shape:
        raise CoordinateError(
            f"x and y must have the same number of values; got shapes {xs.shape} and {ys.shape}."
        )
    return xs, ys
