"""Server-side rendering: settings (OMERO's vocabulary), named LUTs, OMERO.web's URL
grammar, numba kernels, and the region renderer with its encoders."""

from __future__ import annotations

from engine.render.grammar import RenderQuery, apply_query, format_query, parse_query, query_of
from engine.render.luts import LUT_NAMES, lut
from engine.render.render import encode, encode_raw, raw_region, render_region, warm_up
from engine.render.settings import (
    ChannelSettings,
    InvalidRenderSettings,
    Projection,
    RenderSettings,
    check_fits,
    defaults_from,
)

__all__ = [
    "LUT_NAMES",
    "ChannelSettings",
    "InvalidRenderSettings",
    "Projection",
    "RenderQuery",
    "RenderSettings",
    "apply_query",
    "check_fits",
    "defaults_from",
    "encode",
    "encode_raw",
    "format_query",
    "lut",
    "parse_query",
    "query_of",
    "raw_region",
    "render_region",
    "warm_up",
]
