"""Pyramid build benchmark: engine.pyramid.build_pyramid against plain tifffile + numpy.

Generates a size x size, 3-channel uint16 image of smooth noise as a tiled, uncompressed,
single-level TIFF in a temporary directory, then builds the same pyramid twice, each in
its own subprocess so peak RSS (ru_maxrss) is measured separately:

* ours: ``build_pyramid`` (bounded memory: bands in, lower levels streamed to scratch);
* baseline: the plain way, read every plane whole with tifffile, derive each level tile
  by tile with a numpy 2x2 mean (same rounding) into in-memory arrays, and hand the
  arrays to tifffile with the same tile size, compression and SubIFD layout. The
  speed-of-light for tifffile + numpy, but it holds the whole image in memory.

Target: ours within 1.5x of the baseline's time, with peak RSS under 1 GB.

Usage: .venv/bin/python bench/import_pyramid.py [--size 16384] [--keep DIR]
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tifffile

TILE = 512
COMPRESSION = "zstd"
MIN_LEVEL_SIDE = 256
CHANNELS = 3


def smooth_band(rng: np.random.Generator, coarse: np.ndarray, y0: int, rows: int,
                width: int, cell: int) -> np.ndarray:
    """Rows y0..y0+rows of a bilinear upsampling of ``coarse`` plus fine noise, uint16."""
    ys = np.arange(y0, y0 + rows) / cell
    iy = ys.astype(int)
    wy = (ys - iy)[:, None].astype(np.float32)
    across = coarse[iy] * (1 - wy) + coarse[iy + 1] * wy
    xs = np.arange(width) / cell
    ix = xs.astype(int)
    wx = (xs - ix).astype(np.float32)
    band = across[:, ix] * (1 - wx) + across[:, ix + 1] * wx
    band += rng.integers(0, 64, band.shape, dtype=np.uint16)
    return band.astype(np.uint16)


def generate(path: Path, size: int) -> None:
    rng = np.random.default_rng(42)
    cell = 64
    grids = [rng.random((size // cell + 2, size // cell + 2), np.float32) * 60000
             for _ in range(CHANNELS)]

    def tiles() -> Iterator[np.ndarray]:
        for grid in grids:
            for y in range(0, size, TILE):
                band = smooth_band(rng, grid, y, min(TILE, size - y), size, cell)
                for x in range(0, size, TILE):
                    yield band[:, x : x + TILE]

    tifffile.imwrite(path, tiles(), shape=(CHANNELS, size, size), dtype=np.uint16,
                     tile=(TILE, TILE), photometric="minisblack", bigtiff=True,
                     metadata={"axes": "CYX"})


def run_ours(source_path: Path, dest: Path) -> None:
    from engine.pyramid import build_pyramid
    from engine.readers import open_image_file

    source = open_image_file(source_path)
    try:
        build_pyramid(source, 0, dest, tile=TILE, compression=COMPRESSION,
                      min_level_side=MIN_LEVEL_SIDE)
    finally:
        source.close()


def mean2x2(block: np.ndarray) -> np.ndarray:
    """2x2 mean of one (h, w) uint16 block, floor(mean + 0.5) like ours; odd edges are
    averaged over the pixels present."""
    h, w = block.shape
    padded = np.pad(block, [(0, h % 2), (0, w % 2)])
    counts = np.full(((h + 1) // 2, (w + 1) // 2), 4, np.uint32)
    if h % 2:
        counts[-1] //= 2
    if w % 2:
        counts[:, -1] //= 2
    rows = padded[0::2].astype(np.uint32) + padded[1::2]
    sums = rows[:, 0::2] + rows[:, 1::2]
    return ((sums + counts // 2) // counts).astype(block.dtype)


def run_baseline(source_path: Path, dest: Path) -> None:
    """Whole planes in memory, each level derived tile by tile from the one above."""
    with tifffile.TiffFile(source_path) as tif:
        pages = list(tif.pages)
        shapes = [(pages[0].imagelength, pages[0].imagewidth)]
        while max(shapes[-1]) > MIN_LEVEL_SIDE:
            shapes.append(((shapes[-1][0] + 1) // 2, (shapes[-1][1] + 1) // 2))
        levels = [np.empty((len(pages), *shape), np.uint16) for shape in shapes]
        for index, page in enumerate(pages):
            page.asarray(out=levels[0][index])
            for above, below in itertools.pairwise(levels):
                src, dst = above[index], below[index]
                for y in range(0, dst.shape[0], TILE):
                    for x in range(0, dst.shape[1], TILE):
                        block = src[2 * y : 2 * (y + TILE), 2 * x : 2 * (x + TILE)]
                        dst[y : y + TILE, x : x + TILE] = mean2x2(block)
    options = {"tile": (TILE, TILE), "compression": COMPRESSION, "photometric": "minisblack"}
    with tifffile.TiffWriter(dest, bigtiff=True, ome=True) as tif:
        tif.write(levels[0], subifds=len(levels) - 1, metadata={"axes": "CYX"}, **options)
        for level in levels[1:]:
            tif.write(level, subfiletype=1, **options)


def child(kind: str, source: Path, dest: Path) -> None:
    start = time.perf_counter()
    (run_ours if kind == "ours" else run_baseline)(source, dest)
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"seconds": seconds, "peak_mb": peak_kb / 1024}))


def measure(kind: str, source: Path, dest: Path) -> dict[str, float]:
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, __file__, "--child", kind, str(source), str(dest)],
        check=True, capture_output=True, text=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def same_levels(ours: Path, baseline: Path) -> bool:
    """Whether both files hold the same level shapes and the same smallest level."""
    with tifffile.TiffFile(ours) as a, tifffile.TiffFile(baseline) as b:
        shapes_a = [lv.shape[-2:] for lv in a.series[0].levels]
        shapes_b = [lv.shape[-2:] for lv in b.series[0].levels]
        small_a = a.series[0].levels[-1].asarray().reshape(-1, *shapes_a[-1])
        small_b = b.series[0].levels[-1].asarray().reshape(-1, *shapes_b[-1])
    return shapes_a == shapes_b and np.array_equal(small_a, small_b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=16384, help="plane side in pixels")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep files")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "SOURCE", "DEST"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    with tempfile.TemporaryDirectory(dir=args.keep) as tmp:
        work = Path(tmp)
        source = work / "source.tif"
        start = time.perf_counter()
        generate(source, args.size)
        print(f"generated {args.size}x{args.size}x{CHANNELS} uint16 "
              f"({source.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - start:.1f} s")
        ours = measure("ours", source, work / "ours.ome.tif")
        base = measure("baseline", source, work / "baseline.ome.tif")
        for name, result, path in (("build_pyramid", ours, work / "ours.ome.tif"),
                                   ("baseline", base, work / "baseline.ome.tif")):
            print(f"{name:14s} {result['seconds']:7.1f} s   peak RSS {result['peak_mb']:6.0f} MiB"
                  f"   file {path.stat().st_size / 2**20:.0f} MiB")
        print(f"ratio build_pyramid / baseline: {ours['seconds'] / base['seconds']:.2f}x"
              f" (target <= 1.5x; peak target < 1024 MiB)")
        same = same_levels(work / "ours.ome.tif", work / "baseline.ome.tif")
        print(f"level shapes and smallest level identical: {same}")


if __name__ == "__main__":
    main()
