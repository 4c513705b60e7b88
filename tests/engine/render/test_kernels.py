"""The numba kernels agree with the numpy reference over randomized settings, every
pixel type and odd shapes: exactly for the linear family, within 1 level otherwise."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from engine.render import kernels
from engine.render.luts import LUT_NAMES
from engine.render.render import composite, uses_table
from engine.render.settings import FAMILIES, ChannelSettings

from .reference import ref_levels, ref_palette, ref_project

DTYPES = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"]


def random_values(rng: np.random.Generator, dtype: str, shape: tuple[int, ...]) -> NDArray[Any]:
    """Values over the type's whole range, with its extremes (and NaN/inf for floats)."""
    kind = np.dtype(dtype)
    if kind.kind == "f":
        values = (rng.standard_normal(shape) * 1000).astype(dtype)
        flat = values.reshape(-1)
        picks = rng.integers(0, flat.size, 4)
        flat[picks] = [np.nan, np.inf, -np.inf, np.finfo(kind).max]
        return values
    info = np.iinfo(kind)  # type: ignore[type-var]
    values = rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    values.reshape(-1)[:2] = [info.min, info.max]
    return values


def random_channel(rng: np.random.Generator, dtype: str, *, family: str | None = None,
                   ) -> ChannelSettings:
    """Random settings whose window lies mostly inside the values' range."""
    kind = np.dtype(dtype)
    low, high = ((-3000.0, 3000.0) if kind.kind == "f"
                 else (float(np.iinfo(kind).min), float(np.iinfo(kind).max)))  # type: ignore[type-var]
    start, end = sorted(rng.uniform(low, high, 2))
    if kind.kind in "ui":
        start, end = float(np.floor(start)), float(np.floor(end))
    if rng.random() < 0.15:
        start, end = end, start  # a threshold
    look = rng.random()
    return ChannelSettings(
        start=start, end=end,
        color=tuple(int(v) for v in rng.integers(0, 256, 4)),  # type: ignore[arg-type]
        lut=str(rng.choice(LUT_NAMES)) if look < 0.4 else None,
        active=True, family=family or str(rng.choice(FAMILIES)),
        coefficient=float(rng.choice([0.3, 1.0, 1.7, 3.0])),
        reverse=bool(rng.random() < 0.3), noise_reduction=bool(rng.random() < 0.3))


def kernel_levels(values: NDArray[Any], channel: ChannelSettings) -> NDArray[np.int64]:
    out = np.zeros((*values.shape, 3), np.uint8)
    composite(values, channel, True, out)  # greyscale: every component is the level
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 0] == out[..., 2]).all()
    return out[..., 0].astype(np.int64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("family", FAMILIES)
def test_levels_agree_with_reference(dtype: str, family: str) -> None:
    rng = np.random.default_rng(abs(hash((dtype, family))) % 2**32)
    for trial in range(12):
        shape = (int(rng.integers(1, 40)), int(rng.integers(1, 40)))
        values = random_values(rng, dtype, shape)
        channel = random_channel(rng, dtype, family=family)
        diff = np.abs(kernel_levels(values, channel) - ref_levels(values, channel))
        assert diff.max() <= (0 if family == "linear" else 1), (trial, channel)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16"])
def test_table_path_equals_per_pixel_path(dtype: str) -> None:
    rng = np.random.default_rng(7)
    assert uses_table(np.dtype(dtype))
    values = random_values(rng, dtype, (33, 17))
    for _ in range(10):
        channel = random_channel(rng, dtype)
        table_out = np.zeros((33, 17, 3), np.uint8)
        composite(values, channel, False, table_out)
        direct_out = np.zeros((33, 17, 3), np.uint8)
        start, end, family = channel.start, channel.end, FAMILIES.index(channel.family)
        kernels.composite_values(values, start, end, family, channel.coefficient,
                                 channel.noise_reduction, channel.reverse,
                                 ref_palette(channel, False).astype(np.uint8), direct_out)
        assert np.array_equal(table_out, direct_out)


@pytest.mark.parametrize("dtype", DTYPES)
def test_compositing_adds_and_saturates(dtype: str) -> None:
    rng = np.random.default_rng(DTYPES.index(dtype))
    shape = (19, 23)
    channels = [random_channel(rng, dtype, family="linear") for _ in range(4)]
    planes = [random_values(rng, dtype, shape) for _ in channels]
    out = np.zeros((*shape, 3), np.uint8)
    expected = np.zeros((*shape, 3), np.int64)
    for plane, channel in zip(planes, channels, strict=True):
        composite(plane, channel, False, out)
        expected += ref_palette(channel, False)[ref_levels(plane, channel)]
    assert np.array_equal(out, np.clip(expected, 0, 255))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["max", "mean", "sum"])
def test_projections_agree_with_reference(dtype: str, kind: str) -> None:
    rng = np.random.default_rng(3)
    stack = random_values(rng, dtype, (5, 7, 9))
    if kind == "max":
        out = stack[0].copy()
        for plane in stack[1:]:
            kernels.project_max(plane, out)
    else:
        out = np.zeros((7, 9), np.float64)
        for plane in stack:
            kernels.project_add(plane, out)
        if kind == "mean":
            out /= len(stack)
    np.testing.assert_array_equal(out, ref_project(stack, kind))


def test_max_projection_skips_nan_in_the_first_plane() -> None:
    stack = np.array([[[np.nan, 1.0]], [[2.0, np.nan]], [[np.nan, np.nan]]])
    out = stack[0].copy()
    for plane in stack[1:]:
        kernels.project_max(plane, out)
    assert out.tolist() == [[2.0, 1.0]]


def test_window_edges_threshold_and_reverse() -> None:
    values = np.array([[0, 99, 100, 150, 200, 201, 65535]], np.uint16)
    linear = ChannelSettings(start=100.0, end=200.0)
    assert kernel_levels(values, linear).tolist() == [[0, 0, 0, 128, 255, 255, 255]]
    reverse = ChannelSettings(start=100.0, end=200.0, reverse=True)
    assert kernel_levels(values, reverse).tolist() == [[255, 255, 255, 127, 0, 0, 0]]
    threshold = ChannelSettings(start=200.0, end=150.0)
    assert kernel_levels(values, threshold).tolist() == [[0, 0, 0, 255, 255, 255, 255]]
    noisy = ChannelSettings(start=100.0, end=200.0, noise_reduction=True)
    inner = np.array([[100, 110, 150, 190, 200]], np.uint16)  # t = 0, .1, .5, .9, 1
    assert kernel_levels(inner, noisy).tolist() == [[0, 0, 128, 255, 255]]
