"""Render benchmark: 512x512 tiles of a 4-channel uint16 image, numba kernels vs numpy.

In one run, on the same tiles and settings (4 active channels, two with colours, one
with a LUT, one polynomial and reversed):

* kernels: ``engine.render.render.composite`` per channel into one uint8 buffer (the
  per-value tables are cached, as they are across a viewer's tiles); also the whole
  ``render_region`` from an in-memory source (adds the region copy), the cold cost of
  building one 16-bit table, and float32 data through the per-pixel path;
* numpy LUT: the best plain-numpy way, the same cached tables applied with ``np.take``
  per channel, summed in uint16 and clipped;
* numpy maths: the reference maths of the tests (float64 window, family, rounding,
  palette), i.e. what a renderer without tables computes.

Usage: .venv/bin/python bench/render.py [--tiles 32] [--size 2048]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.render.render import composite, render_region, value_table
from engine.render.settings import ChannelSettings, RenderSettings
from tests.engine.render.reference import ArraySource, ref_render

TILE = 512


def settings() -> RenderSettings:
    return RenderSettings(channels=(
        ChannelSettings(start=500.0, end=20000.0, color=(255, 0, 0, 255)),
        ChannelSettings(start=1000.0, end=40000.0, color=(0, 255, 0, 255)),
        ChannelSettings(start=0.0, end=65535.0, lut="fire"),
        ChannelSettings(start=2000.0, end=30000.0, color=(0, 128, 255, 255),
                        family="polynomial", coefficient=2.0, reverse=True),
    ))


def per_tile(function: Callable[[int], Any], tiles: int) -> float:
    """Median seconds of ``function(i)`` over ``tiles`` calls, after one warm-up call."""
    function(0)
    times = []
    for i in range(tiles):
        start = time.perf_counter()
        function(i)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=32)
    parser.add_argument("--size", type=int, default=2048)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    size = args.size
    data = rng.integers(0, 65536, (1, 4, 1, size, size), dtype=np.uint16)
    source = ArraySource([data])
    rs = settings()
    per_row = size // TILE
    origins = [((i % (per_row * per_row)) % per_row * TILE, (i % (per_row * per_row))
                // per_row * TILE) for i in range(args.tiles + 1)]
    planes = [[np.ascontiguousarray(data[0, c, 0, y:y + TILE, x:x + TILE]) for c in range(4)]
              for x, y in origins]
    out = np.zeros((TILE, TILE, 3), np.uint8)

    def kernels(i: int) -> None:
        out[...] = 0
        for c, channel in enumerate(rs.channels):
            composite(planes[i][c], channel, False, out)

    tables = [value_table(channel, False, np.dtype(np.uint16)) for channel in rs.channels]

    def numpy_lut(i: int) -> np.ndarray:
        total = np.zeros((TILE, TILE, 3), np.uint16)
        for c in range(4):
            total += np.take(tables[c], planes[i][c], axis=0)
        return np.minimum(total, 255).astype(np.uint8)

    def numpy_maths(i: int) -> np.ndarray:
        return ref_render(np.stack(planes[i])[:, None], rs)

    def whole(i: int) -> None:
        x, y = origins[i]
        render_region(source, 0, 0, x, y, TILE, TILE, rs, out=out)

    floats = [[plane.astype(np.float32) for plane in tile] for tile in planes[:4]]

    def float_kernels(i: int) -> None:
        out[...] = 0
        for c, channel in enumerate(rs.channels):
            composite(floats[i % 4][c], channel, False, out)

    kernels(1)
    assert np.array_equal(out, numpy_lut(1))
    assert np.abs(out.astype(int) - numpy_maths(1)).max() <= 1

    def cold_table(i: int) -> None:
        value_table.cache_clear()
        value_table(rs.channels[3], False, np.dtype(np.uint16))

    results = {
        "kernels (4 ch composite)": per_tile(kernels, args.tiles),
        "render_region (read + composite)": per_tile(whole, args.tiles),
        "numpy LUT (np.take, same tables)": per_tile(numpy_lut, args.tiles),
        "numpy maths (reference)": per_tile(numpy_maths, max(4, args.tiles // 4)),
        "kernels, float32 data (per pixel)": per_tile(float_kernels, args.tiles),
        "one 16-bit table, cold": per_tile(cold_table, 8),
    }
    print(f"{TILE}x{TILE} tiles, 4-channel uint16, median per tile:")
    for name, seconds in results.items():
        print(f"  {name:36s} {seconds * 1e3:8.2f} ms")
    ours = results["kernels (4 ch composite)"]
    print(f"  numpy LUT / kernels   = {results['numpy LUT (np.take, same tables)'] / ours:5.1f}x")
    print(f"  numpy maths / kernels = {results['numpy maths (reference)'] / ours:5.1f}x")


if __name__ == "__main__":
    main()
