"""render_region equals the numpy reference over random settings, pixel types, shapes,
levels and projections, reads only the planes it needs; encoders round-trip."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
import tifffile
from numpy.typing import NDArray
from PIL import Image

from engine.errors import ImageTooLarge
from engine.readers.base import Limits
from engine.render import (
    InvalidRenderSettings,
    Projection,
    RenderSettings,
    encode,
    encode_raw,
    raw_region,
    render_region,
    warm_up,
)

from .reference import ArraySource, ref_render
from .test_kernels import DTYPES, random_channel, random_values


def make_source(rng: np.random.Generator, dtype: str, shape: tuple[int, int, int, int, int],
                ) -> ArraySource:
    full = random_values(rng, dtype, shape)
    return ArraySource([full, np.ascontiguousarray(full[..., ::2, ::2])])


def random_settings(rng: np.random.Generator, dtype: str, size_c: int, size_z: int,
                    size_t: int) -> RenderSettings:
    channels = tuple(replace(random_channel(rng, dtype), active=bool(rng.random() < 0.8))
                     for _ in range(size_c))
    kind = str(rng.choice(["none", "none", "max", "mean", "sum"]))
    start = int(rng.integers(0, size_z))
    end = int(rng.integers(start, size_z))
    projection = Projection(kind, *((start, end) if rng.random() < 0.5 else (None, None)))
    return RenderSettings(channels=channels, model=str(rng.choice(["color", "greyscale"])),
                          z=int(rng.integers(0, size_z)), t=int(rng.integers(0, size_t)),
                          projection=projection)


def expected(source: ArraySource, settings: RenderSettings, level: int,
             box: tuple[int, int, int, int]) -> NDArray[np.uint8]:
    x, y, w, h = box
    data = source.levels[level][settings.t, :, :, y:y + h, x:x + w]
    return ref_render(data, settings)


@pytest.mark.parametrize("dtype", DTYPES)
def test_render_region_agrees_with_reference(dtype: str) -> None:
    rng = np.random.default_rng(100 + DTYPES.index(dtype))
    for trial in range(8):
        size_c, size_z, size_t = (int(v) for v in rng.integers(1, 4, 3))
        height, width = (int(v) for v in rng.integers(3, 50, 2))
        source = make_source(rng, dtype, (size_t, size_c, size_z, height, width))
        settings = random_settings(rng, dtype, size_c, size_z, size_t)
        level = int(rng.integers(0, 2))
        level_w, level_h = source.images[0].resolution_levels[level]
        x, y = int(rng.integers(0, level_w)), int(rng.integers(0, level_h))
        box = (x, y, int(rng.integers(1, level_w - x + 1)), int(rng.integers(1, level_h - y + 1)))
        rgb = render_region(source, 0, level, *box, settings)
        assert rgb.shape == (box[3], box[2], 3) and rgb.dtype == np.uint8
        diff = np.abs(rgb.astype(np.int64) - expected(source, settings, level, box))
        assert diff.max(initial=0) <= 1, (trial, settings)


def test_reads_only_the_rendered_planes() -> None:
    rng = np.random.default_rng(1)
    source = make_source(rng, "uint16", (2, 4, 6, 20, 30))
    base = random_settings(rng, "uint16", 4, 6, 2)
    channels = tuple(replace(ch, active=c in (1, 3)) for c, ch in enumerate(base.channels))
    settings = replace(base, channels=channels, model="color", z=2, t=1,
                       projection=Projection())
    render_region(source, 0, 0, 5, 6, 7, 8, settings)
    assert sorted((r.z, r.c, r.t) for r in source.reads) == [(2, 1, 1), (2, 3, 1)]
    assert {(r.x, r.y, r.width, r.height) for r in source.reads} == {(5, 6, 7, 8)}
    source.reads.clear()
    render_region(source, 0, 0, 0, 0, 30, 20, replace(settings, model="greyscale",
                                                       projection=Projection("max", 1, 3)))
    assert sorted((r.z, r.c, r.t) for r in source.reads) == [(1, 1, 1), (2, 1, 1), (3, 1, 1)]


def test_no_active_channel_is_black_and_out_is_reused() -> None:
    rng = np.random.default_rng(2)
    source = make_source(rng, "uint8", (1, 2, 1, 8, 8))
    settings = random_settings(rng, "uint8", 2, 1, 1)
    off = replace(settings, channels=tuple(replace(ch, active=False) for ch in settings.channels))
    out = np.full((8, 8, 3), 7, np.uint8)
    assert render_region(source, 0, 0, 0, 0, 8, 8, off, out=out) is out
    assert not out.any() and source.reads == []
    with pytest.raises(ValueError, match="C-contiguous"):
        render_region(source, 0, 0, 0, 0, 8, 8, off, out=np.zeros((8, 8, 4), np.uint8))


def test_settings_that_do_not_fit_the_image_are_refused() -> None:
    rng = np.random.default_rng(3)
    source = make_source(rng, "uint8", (1, 2, 3, 8, 8))
    settings = random_settings(rng, "uint8", 2, 3, 1)
    for bad, message in [
        (replace(settings, channels=settings.channels[:1]), "1 channel settings for 2"),
        (replace(settings, t=1), "t=1 outside"),
        (replace(settings, z=3, projection=Projection()), "z=3 outside"),
        (replace(settings, projection=Projection("max", 0, 3)), "projection z 3 outside"),
    ]:
        with pytest.raises(InvalidRenderSettings, match=message):
            render_region(source, 0, 0, 0, 0, 8, 8, bad)
    with pytest.raises(IndexError):
        render_region(source, 0, 0, 4, 4, 8, 8, replace(settings, projection=Projection()))


def test_region_limit_is_checked_before_allocating() -> None:
    rng = np.random.default_rng(4)
    source = make_source(rng, "uint8", (1, 1, 1, 4, 4))
    settings = random_settings(rng, "uint8", 1, 1, 1)
    with pytest.raises(ImageTooLarge):
        render_region(source, 0, 0, 0, 0, 4, 4, settings, limits=Limits(max_region_pixels=15))
    with pytest.raises(IndexError):
        render_region(source, 0, 0, 0, 0, 1 << 40, 1 << 40, settings)
    with pytest.raises(IndexError):
        render_region(source, 0, 0, 0, 0, 0, 4, settings)


def test_encoders_round_trip() -> None:
    rgb = np.random.default_rng(5).integers(0, 256, (13, 17, 3), dtype=np.uint8)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(encode(rgb, "png")))), rgb)
    assert np.array_equal(tifffile.imread(io.BytesIO(encode(rgb, "tiff"))), rgb)
    smooth = np.zeros((64, 64, 3), np.uint8) + np.arange(64, dtype=np.uint8)[:, None, None]
    best = np.asarray(Image.open(io.BytesIO(encode(smooth, "jpeg", 1.0))), np.int64)
    assert np.abs(best - smooth).max() <= 4
    assert len(encode(rgb, "jpeg", 0.1)) < len(encode(rgb, "jpeg", 1.0))
    with pytest.raises(InvalidRenderSettings, match="quality"):
        encode(rgb, "jpeg", 0.0)
    with pytest.raises(InvalidRenderSettings, match="format"):
        encode(rgb, "gif")


def test_raw_region_and_its_encoders() -> None:
    source = make_source(np.random.default_rng(6), "uint16", (2, 3, 2, 10, 12))
    raw = raw_region(source, 0, 0, 2, 3, 5, 4, z=1, t=1, channels=[2, 0])
    assert raw.dtype == np.uint16
    assert np.array_equal(raw, source.levels[0][1, [2, 0], 1, 3:7, 2:7])
    assert np.array_equal(tifffile.imread(io.BytesIO(encode_raw(raw, "tiff"))), raw)
    loaded = np.load(io.BytesIO(encode_raw(raw, "npy")), allow_pickle=False)
    assert loaded.dtype == np.uint16 and np.array_equal(loaded, raw)
    with pytest.raises(InvalidRenderSettings):
        encode_raw(raw, "png")


def test_warm_up_runs() -> None:
    warm_up()
