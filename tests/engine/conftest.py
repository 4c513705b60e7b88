"""Fixtures shared by the engine tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.readers import open_image_file
from engine.readers.base import ImageSource
from tests.engine.pixels import Opener


@pytest.fixture
def opened() -> Iterator[Opener]:
    """open_image_file, closing every source at teardown."""
    sources: list[ImageSource] = []

    def open_(path: Path) -> ImageSource:
        sources.append(open_image_file(path))
        return sources[-1]

    yield open_
    for source in sources:
        source.close()
