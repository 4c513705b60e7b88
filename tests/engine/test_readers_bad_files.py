"""Bad files fail fast with the engine's own errors, never MemoryError or a hang."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
import tifffile
from PIL import Image

from engine.errors import CorruptFile, ImageTooLarge, UnsupportedFormat
from engine.readers import Limits, Region, open_image_file


def _tiff(path: Path) -> Path:
    tifffile.imwrite(path, np.arange(64 * 64, dtype=np.uint16).reshape(64, 64), rowsperstrip=8)
    return path


def _open_and_read(path: Path) -> None:
    source = open_image_file(path)
    try:
        source.read_region(Region(width=64, height=64))
    finally:
        source.close()


def test_zero_byte_file_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "empty.tif"
    path.write_bytes(b"")
    with pytest.raises(CorruptFile):
        open_image_file(path)


def test_random_bytes_named_tif_are_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "noise.tif"
    path.write_bytes(np.random.default_rng(1).bytes(4096).replace(b"I", b"x"))
    with pytest.raises(UnsupportedFormat):
        open_image_file(path)


@pytest.mark.parametrize("keep", [4, 10, 100, 2000, 8000])
def test_truncated_tiff_is_corrupt(tmp_path: Path, keep: int) -> None:
    path = _tiff(tmp_path / "t.tif")
    path.write_bytes(path.read_bytes()[:keep])
    started = time.monotonic()
    with pytest.raises(CorruptFile):
        _open_and_read(path)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP"])
def test_truncated_pillow_image_is_corrupt(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "x.img"
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (64, 64, 3), np.uint8)).save(
        path, format=fmt
    )
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(CorruptFile):
        _open_and_read(path)


def _claim_size(path: Path, width: int, height: int) -> None:
    """Patch a little-endian classic TIFF's ImageWidth/ImageLength tags in place."""
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages.first.tags
        locations = [(tags[code].valueoffset, tags[code].dtype) for code in (256, 257)]
    data = bytearray(path.read_bytes())
    for (offset, dtype), value in zip(locations, (width, height), strict=True):
        fmt = "<H" if dtype == 3 else "<I"
        struct.pack_into(fmt, data, offset, value)
    path.write_bytes(bytes(data))


def test_absurd_dimensions_are_too_large(tmp_path: Path) -> None:
    path = tmp_path / "huge.tif"
    tifffile.imwrite(path, np.zeros((8, 8), np.uint8), rowsperstrip=8)
    _claim_size(path, 65535, 65535)
    with pytest.raises(ImageTooLarge) as info:
        open_image_file(path, Limits(max_plane_pixels=1 << 30))
    assert info.value.limit == 1 << 30


def test_pixel_limits_are_configurable(tmp_path: Path) -> None:
    png = tmp_path / "a.png"
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(png)
    with pytest.raises(ImageTooLarge):
        open_image_file(png, Limits(max_image_pixels=1000))
    source = open_image_file(_tiff(tmp_path / "t.tif"), Limits(max_region_pixels=100))
    with pytest.raises(ImageTooLarge):
        source.read_region(Region(width=64, height=64))
    source.close()


def test_wrong_output_buffer_is_rejected(tmp_path: Path) -> None:
    source = open_image_file(_tiff(tmp_path / "t.tif"))
    with pytest.raises(ValueError, match="out must be"):
        source.read_region(Region(width=8, height=8), out=np.empty((8, 8), np.uint8))
    source.close()


def test_truncated_16_bit_png_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "deep.png"
    data = np.random.default_rng(4).integers(0, 65535, (64, 64, 3), np.uint16)
    path.write_bytes(imagecodecs.png_encode(data)[:3000])
    with pytest.raises(CorruptFile):
        _open_and_read(path)


def test_unsupported_content_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.tif"
    path.write_text("hello")
    with pytest.raises(UnsupportedFormat, match=r"notes\.tif"):
        open_image_file(path)


def test_malformed_ome_xml_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "bad.ome.tif"
    description = '<?xml version="1.0"?><OME xmlns="x"><Image ID="Image:0"><Pixels></OME>'
    tifffile.imwrite(path, np.zeros((8, 8), np.uint8), description=description,
                     metadata=None, ome=False)
    with pytest.raises(CorruptFile):
        open_image_file(path)


def png_claiming(width: int, height: int, mode: int = 0) -> bytes:
    """A PNG header declaring ``width`` x ``height`` (grey 8-bit, or RGB with mode 2), with a
    tiny, valid start of data: what a decompression bomb looks like before it is decoded."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, mode, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (17_000, 17_000)])
def test_png_decompression_bombs_are_refused_from_their_header(
        tmp_path: Path, width: int, height: int) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming(width, height))
    started = time.perf_counter()
    with pytest.raises(ImageTooLarge, match="bomb"):
        open_image_file(path)
    assert time.perf_counter() - started < 1.0


def test_whole_decode_limit_is_configurable(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    Image.fromarray(np.zeros((40, 50), np.uint8)).save(path)
    open_image_file(path).close()
    with pytest.raises(ImageTooLarge, match="decoded whole"):
        open_image_file(path, Limits(max_whole_decode_pixels=1999))
