"""Exceptions the engine raises for files it cannot, or will not, read.

All subclass ValueError so callers that only care about "bad input" can catch one type.
"""

from __future__ import annotations


class EngineError(ValueError):
    """Base class of the engine's expected failures."""


class UnsupportedFormat(EngineError):
    """The file's content is not a format (or variant of one) the engine reads."""


class CorruptFile(EngineError):
    """The file claims to be a known format but is empty, truncated or malformed."""


class ImageTooLarge(EngineError):
    """The image or requested region exceeds a configured pixel limit."""

    def __init__(self, message: str, *, pixels: int, limit: int) -> None:
        super().__init__(message)
        self.pixels = pixels
        self.limit = limit
