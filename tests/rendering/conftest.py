"""Rendering tests import real images through the import pipeline (tests/imports)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile

from tests.imports import conftest as imports
from tests.imports.conftest import Importer, Member

# The import tests' fixtures: users of a read-annotate group, an outsider, the importer.
settings = imports.settings
lab = imports.lab
alice = imports.alice
bob = imports.bob
importer = imports.importer
world_private = imports.world_private

IMAGE = """query($id: ID!) { node(id: $id) { ... on Image { id rendering {
  imageId isOwn settings { model z t projection query
    channels { index active start end color lut family coefficient reverse noiseReduction } }
  tileSource { tileSize levels urlTemplate } thumbnailUrl } } } }"""


def import_image(importer: Importer, who: Member, tmp_path: Path, data: np.ndarray,
                 name: str = "cells.ome.tif", **options: Any) -> str:
    """Import ``data`` (C, Y, X) as one OME-TIFF image; its global id."""
    options.setdefault("photometric", "minisblack")
    options.setdefault("metadata", {"axes": "CYX"})
    tifffile.imwrite(tmp_path / name, data, **options)
    job = importer.run(who, [(name, (tmp_path / name).read_bytes())])
    assert job["status"] == "DONE", job
    image_id: str = job["images"][0]["id"]
    return image_id


def rendering_of(importer: Importer, who: Member, image_id: str) -> dict[str, Any]:
    node = importer.api.data(IMAGE, who.token, id=image_id)["node"]
    assert node is not None, f"{image_id} invisible"
    rendering: dict[str, Any] = node["rendering"]
    return rendering


@pytest.fixture
def two_channels(importer: Importer, alice: Member, tmp_path: Path) -> str:
    """Alice's 2-channel uint16 image: channel 1 ramps 100..(100+47), channel 2 is 0..3000."""
    data = np.zeros((2, 40, 48), np.uint16)
    data[0] = 100 + np.arange(48, dtype=np.uint16)[None, :]
    data[1] = np.random.default_rng(3).integers(0, 3001, (40, 48))
    return import_image(importer, alice, tmp_path, data)
