"""Reference pixel maths for the engine tests, computed by another route than the engine's."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.readers.base import ImageSource

Opener = Callable[[Path], ImageSource]


def reference_mean(plane: np.ndarray, factor: int = 2) -> np.ndarray:
    """Block mean by another route: NaN padding + nanmean in float64, ints floor(m+0.5)."""
    h, w = plane.shape
    out_h, out_w = math.ceil(h / factor), math.ceil(w / factor)
    padded = np.full((out_h * factor, out_w * factor), np.nan)
    padded[:h, :w] = plane
    means = np.nanmean(padded.reshape(out_h, factor, out_w, factor), axis=(1, 3))
    if plane.dtype.kind == "f":
        return means.astype(plane.dtype)
    return np.floor(means + 0.5).astype(plane.dtype)
