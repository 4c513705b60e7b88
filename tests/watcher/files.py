"""Writing image files into the dropbox as microscopes and copy tools do."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import tifffile

from tests.engine.test_readers_fileset import _ome_xml


def tiff_bytes(tmp: Path, seed: int, shape: tuple[int, ...] = (24, 32)) -> bytes:
    data = np.random.default_rng(seed).integers(0, 4000, shape).astype("uint16")
    path = tmp / f".make-{uuid.uuid4().hex}.tif"
    tifffile.imwrite(path, data, photometric="minisblack")
    body = path.read_bytes()
    path.unlink()
    return body


def drop(path: Path, body: bytes) -> Path:
    """Write a file at once, creating its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return path


def drop_via_temp(path: Path, body: bytes, suffix: str = ".part") -> Path:
    """Write under a temporary name, then rename: as browsers and rsync do."""
    temp = path.with_name(path.name + suffix)
    drop(temp, body)
    os.rename(temp, path)
    return path


def per_channel_fileset(folder: Path, channels: int = 3) -> dict[str, bytes]:
    """The files of one multi-file OME-TIFF (one channel per file), as name -> bytes."""
    data = np.random.default_rng(5).integers(0, 60000, (channels, 3, 20, 26), np.uint16)
    names = [f"c{c}.ome.tif" for c in range(channels)]
    ids = {name: str(uuid.uuid4()) for name in names}
    out = {}
    for c, name in enumerate(names):
        xml = _ome_xml(ids[name], ids, (26, 20), names)
        path = folder / f".make-{name}"
        with tifffile.TiffWriter(path, ome=False) as tif:
            for z in range(3):
                tif.write(data[c, z], photometric="minisblack", metadata=None,
                          description=xml if z == 0 else None)
        out[name] = path.read_bytes()
        path.unlink()
    return out
