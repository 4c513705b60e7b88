"""Named lookup tables: (256, 3) uint8 RGB ramps, generated in code (no data files).

A LUT maps a channel's 8-bit level (0 = window start, 255 = window end, see
``engine.render.kernels``) to a colour. Names are matched case-insensitively, with or
without OMERO's ``.lut`` suffix (``fire.lut`` = ``fire``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
from numpy.typing import NDArray

Stop = tuple[float, tuple[int, int, int]]

# Piecewise-linear colour stops (position 0..1, RGB). Fire and ice follow the look of
# ImageJ's tables of the same names; "viridis" is a perceptually uniform ramp through
# viridis' published anchor colours, close enough that users recognise it.
_STOPS: dict[str, Sequence[Stop]] = {
    "greys": ((0.0, (0, 0, 0)), (1.0, (255, 255, 255))),
    "red": ((0.0, (0, 0, 0)), (1.0, (255, 0, 0))),
    "green": ((0.0, (0, 0, 0)), (1.0, (0, 255, 0))),
    "blue": ((0.0, (0, 0, 0)), (1.0, (0, 0, 255))),
    "cyan": ((0.0, (0, 0, 0)), (1.0, (0, 255, 255))),
    "magenta": ((0.0, (0, 0, 0)), (1.0, (255, 0, 255))),
    "yellow": ((0.0, (0, 0, 0)), (1.0, (255, 255, 0))),
    "fire": ((0.0, (0, 0, 0)), (0.15, (0, 0, 120)), (0.35, (120, 0, 160)),
             (0.55, (220, 40, 60)), (0.75, (255, 140, 0)), (0.9, (255, 220, 40)),
             (1.0, (255, 255, 255))),
    "ice": ((0.0, (0, 0, 0)), (0.2, (40, 0, 110)), (0.4, (20, 60, 200)),
            (0.6, (0, 160, 220)), (0.8, (100, 220, 240)), (1.0, (255, 255, 255))),
    "viridis": ((0.0, (68, 1, 84)), (0.125, (71, 44, 122)), (0.25, (59, 81, 139)),
                (0.375, (44, 113, 142)), (0.5, (33, 144, 141)), (0.625, (39, 173, 129)),
                (0.75, (92, 200, 99)), (0.875, (170, 220, 50)), (1.0, (253, 231, 37))),
}
_ALIASES = {"grays": "greys", "grey": "greys", "gray": "greys"}
#: Every accepted name (without aliases), sorted.
LUT_NAMES: tuple[str, ...] = tuple(sorted([*_STOPS, "hilo"]))
#: Longest accepted LUT name, suffix included; longer input is refused unread.
MAX_NAME_LENGTH = 32


def canonical_name(name: str) -> str | None:
    """The LUT's canonical name for ``name`` (``"Fire.lut"`` -> ``"fire"``), or None."""
    if len(name) > MAX_NAME_LENGTH:
        return None
    key = name.strip().lower()
    key = key.removesuffix(".lut")
    key = _ALIASES.get(key, key)
    return key if key in LUT_NAMES else None


def _ramp(stops: Sequence[Stop]) -> NDArray[np.uint8]:
    positions = np.array([p for p, _ in stops]) * 255.0
    colors = np.array([c for _, c in stops], dtype=np.float64)
    levels = np.arange(256, dtype=np.float64)
    table = np.stack([np.interp(levels, positions, colors[:, k]) for k in range(3)], axis=1)
    return np.rint(table).astype(np.uint8)


@cache
def _table(name: str) -> NDArray[np.uint8]:
    if name == "hilo":
        # Greys, but the lowest level shows blue and the highest red, so saturated and
        # clipped pixels stand out when adjusting a window.
        table = _ramp(_STOPS["greys"])
        table[0] = (0, 0, 255)
        table[255] = (255, 0, 0)
    else:
        table = _ramp(_STOPS[name])
    table.flags.writeable = False  # shared by every caller through the cache
    return table


def lut(name: str) -> NDArray[np.uint8]:
    """The read-only (256, 3) uint8 table of a named LUT; KeyError for unknown names."""
    key = canonical_name(name)
    if key is None:
        raise KeyError(name[:MAX_NAME_LENGTH])
    return _table(key)


def color_ramp(red: int, green: int, blue: int, alpha: int = 255) -> NDArray[np.uint8]:
    """A (256, 3) uint8 ramp from black to the colour scaled by alpha/255: entry ``q`` is
    ``round(q * component * alpha / 255**2)`` (OMERO weighs a channel's colour by alpha)."""
    levels = np.arange(256, dtype=np.float64)[:, None]
    components = np.array([red, green, blue], dtype=np.float64) * (alpha / 255.0)
    ramp = np.floor(levels * components / 255.0 + 0.5).astype(np.uint8)
    ramp.flags.writeable = False  # like the named tables: one numba specialisation
    return ramp
