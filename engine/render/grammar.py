"""OMERO.web's rendering query grammar: parse into overrides, apply, and format back.

``c=1|100:500$FF0000,-2,3|0:4095$fire.lut``: channels, 1-based; a leading ``-`` makes a
channel inactive (its window and colour still apply); ``|start:end`` the window;
``$RRGGBB`` (or ``RRGGBBAA``) a colour, ``$name.lut`` a LUT. As in OMERO.web, channels
absent from ``c`` become inactive. ``m=c|g`` model; ``p=normal|intmax|intmean|intsum``
with an optional ``|start:end`` z range (0-based, inclusive); ``z=``/``t=`` 0-based planes
(empty = the settings' default); ``q=`` JPEG quality in (0, 1]; ``format=jpeg|png|tif``;
``maps=`` OMERO.web's per-channel JSON list, e.g. ``[{"reverse": {"enabled": true},
"quantization": {"family": "polynomial", "coefficient": 2}}]``, to which we add
``"noise_reduction": {"enabled": true}`` so that a URL can carry whole settings.

Every failure is InvalidRenderSettings with a short message quoting at most 40
characters of the input; values are length-bounded before they are parsed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from engine.render.settings import (
    MAX_CHANNELS,
    RGBA,
    ChannelSettings,
    InvalidRenderSettings,
    Projection,
    RenderSettings,
    format_color,
    parse_color,
)

#: Longest accepted value of any one parameter (``c`` of 1024 channels fits easily).
MAX_VALUE_LENGTH = 65536
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d{1,3})?")
_INDEX = re.compile(r"\d{1,5}")
_PROJECTIONS = {"normal": "none", "intmax": "max", "intmean": "mean", "intsum": "sum"}
_MODELS = {"c": "color", "g": "greyscale"}
_FORMATS = {"jpeg": "jpeg", "jpg": "jpeg", "png": "png", "tif": "tiff", "tiff": "tiff"}
PARAMETERS = ("c", "m", "p", "z", "t", "q", "format", "maps")


def _fail(message: str, text: str) -> InvalidRenderSettings:
    return InvalidRenderSettings(f"{message}: {text[:40]!r}")


@dataclass(frozen=True, slots=True)
class ChannelOverride:
    """What a URL says about one channel (``index`` 0-based); None = keep the base's."""

    index: int
    active: bool = True
    start: float | None = None
    end: float | None = None
    color: RGBA | None = None
    lut: str | None = None


@dataclass(frozen=True, slots=True)
class MapOverride:
    """One entry of ``maps``: reverse, family/coefficient, noise reduction, or None."""

    reverse: bool | None = None
    family: str | None = None
    coefficient: float | None = None
    noise_reduction: bool | None = None


@dataclass(frozen=True, slots=True)
class RenderQuery:
    """Parsed overrides of one request; None fields leave the saved settings alone."""

    channels: tuple[ChannelOverride, ...] | None = None
    maps: tuple[MapOverride | None, ...] | None = None
    model: str | None = None
    projection: Projection | None = None
    z: int | None = None
    t: int | None = None
    quality: float | None = None
    format: str | None = None


def _number(text: str) -> float:
    if not _NUMBER.fullmatch(text):
        raise _fail("not a number", text)
    value = float(text)
    if not math.isfinite(value):
        raise _fail("number out of range", text)
    return value


def _range(text: str, what: str) -> tuple[str, str]:
    start, sep, end = text.partition(":")
    if not sep:
        raise _fail(f"{what} must be start:end", text)
    return start, end


def parse_channel(entry: str) -> ChannelOverride:
    """One ``c`` entry: ``[-]index[|start:end][$colour-or-lut]``."""
    head, _, look = entry.partition("$")
    index_text, bar, window = head.partition("|")
    active = not index_text.startswith("-")
    index_text = index_text.removeprefix("-")
    if not _INDEX.fullmatch(index_text) or int(index_text) < 1:
        raise _fail("channel index must be an integer from 1", entry)
    start = end = None
    if bar:
        start_text, end_text = _range(window, "window")
        start, end = _number(start_text), _number(end_text)
    color = lut = None
    if look.lower().endswith(".lut"):
        lut = look
        ChannelSettings(0.0, 1.0, lut=lut)  # validates the name
    elif look:
        color = parse_color(look)
    return ChannelOverride(int(index_text) - 1, active, start, end, color, lut)


def parse_channels(text: str) -> tuple[ChannelOverride, ...]:
    """The ``c`` parameter; each channel at most once."""
    if text.count(",") >= MAX_CHANNELS:
        raise _fail(f"more than {MAX_CHANNELS} channels", text)
    entries = tuple(parse_channel(entry) for entry in text.split(",") if entry)
    indices = [entry.index for entry in entries]
    if len(set(indices)) != len(indices):
        raise _fail("a channel is given twice", text)
    return entries


def parse_projection(text: str) -> Projection:
    """The ``p`` parameter: ``intmax``, ``intmean|0:9`` and so on."""
    kind, bar, planes = text.partition("|")
    if kind not in _PROJECTIONS:
        raise _fail(f"projection must be one of {', '.join(_PROJECTIONS)}", text)
    if not bar:
        return Projection(_PROJECTIONS[kind])
    start, end = _range(planes, "projection range")
    # An empty bound means the first or last plane (our extension of OMERO's grammar).
    if not all(_INDEX.fullmatch(bound) for bound in (start, end) if bound):
        raise _fail("projection range must be plane indices", text)
    return Projection(_PROJECTIONS[kind], int(start) if start else None,
                      int(end) if end else None)


def _flag(entry: Mapping[str, Any], key: str) -> bool | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("enabled"), bool):
        raise InvalidRenderSettings(f'maps: "{key}" must be {{"enabled": true|false}}')
    return bool(value["enabled"])


def _map_entry(entry: Any) -> MapOverride | None:
    if entry is None:
        return None
    if not isinstance(entry, dict):
        raise InvalidRenderSettings("maps: each entry must be an object or null")
    reverse = _flag(entry, "reverse")
    inverted = _flag(entry, "inverted")  # an older OMERO.web name of "reverse"
    family = coefficient = None
    quantization = entry.get("quantization")
    if quantization is not None:
        if not isinstance(quantization, dict):
            raise InvalidRenderSettings("maps: quantization must be an object")
        family, coefficient = quantization.get("family"), quantization.get("coefficient")
        if family is not None and not isinstance(family, str):
            raise InvalidRenderSettings("maps: family must be a string")
        if coefficient is not None and (isinstance(coefficient, bool)
                                        or not isinstance(coefficient, int | float)):
            raise InvalidRenderSettings("maps: coefficient must be a number")
    ChannelSettings(0.0, 1.0, family=family or "linear",
                    coefficient=1.0 if coefficient is None else float(coefficient))
    return MapOverride(reverse if reverse is not None else inverted, family,
                       None if coefficient is None else float(coefficient),
                       _flag(entry, "noise_reduction"))


def parse_maps(text: str) -> tuple[MapOverride | None, ...]:
    """The ``maps`` parameter: a JSON list, one entry (or null) per channel."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise _fail("maps must be JSON", text) from None
    if not isinstance(value, list) or len(value) > MAX_CHANNELS:
        raise _fail(f"maps must be a list of at most {MAX_CHANNELS} entries", text)
    return tuple(_map_entry(entry) for entry in value)


def _plane(text: str, name: str) -> int | None:
    if text == "":
        return None
    if not _INDEX.fullmatch(text):
        raise _fail(f"{name} must be a plane index from 0", text)
    return int(text)


def parse_query(params: Mapping[str, str]) -> RenderQuery:
    """A RenderQuery from request parameters; unknown parameters are ignored (they
    belong to the endpoint), known ones are validated."""
    for key in PARAMETERS:
        if len(params.get(key, "")) > MAX_VALUE_LENGTH:
            raise InvalidRenderSettings(f"parameter {key} longer than {MAX_VALUE_LENGTH}")
    model = params.get("m")
    if model is not None and model not in _MODELS:
        raise _fail("m must be c or g", model)
    fmt = params.get("format")
    if fmt is not None and fmt.lower() not in _FORMATS:
        raise _fail("format must be jpeg, png or tif", fmt)
    quality = None
    if params.get("q"):
        quality = _number(params["q"])
        if not 0.0 < quality <= 1.0:
            raise _fail("q must be in (0, 1]", params["q"])
    return RenderQuery(
        channels=parse_channels(params["c"]) if "c" in params else None,
        maps=parse_maps(params["maps"]) if "maps" in params else None,
        model=_MODELS[model] if model is not None else None,
        projection=parse_projection(params["p"]) if params.get("p") else None,
        z=_plane(params.get("z", ""), "z"), t=_plane(params.get("t", ""), "t"),
        quality=quality, format=_FORMATS[fmt.lower()] if fmt is not None else None)


def _channel(base: ChannelSettings, override: ChannelOverride | None,
             mapped: MapOverride | None, listed: bool) -> ChannelSettings:
    changes: dict[str, Any] = {}
    if listed:
        changes["active"] = override is not None and override.active
    if override is not None:
        if override.start is not None and override.end is not None:
            changes.update(start=override.start, end=override.end)
        if override.color is not None:
            changes.update(color=override.color, lut=None)
        if override.lut is not None:
            changes["lut"] = override.lut
    if mapped is not None:
        for name in ("reverse", "family", "coefficient", "noise_reduction"):
            if getattr(mapped, name) is not None:
                changes[name] = getattr(mapped, name)
    return replace(base, **changes) if changes else base


def apply_query(base: RenderSettings, query: RenderQuery) -> RenderSettings:
    """``base`` (the user's saved settings) with ``query``'s overrides applied. Channel
    indices beyond the image's channels are InvalidRenderSettings."""
    count = len(base.channels)
    overrides = {entry.index: entry for entry in query.channels or ()}
    maps = query.maps or ()
    if any(index >= count for index in overrides) or len(maps) > count:
        raise InvalidRenderSettings(f"the query names more than the image's {count} channels")
    channels = tuple(
        _channel(channel, overrides.get(c), maps[c] if c < len(maps) else None,
                 query.channels is not None)
        for c, channel in enumerate(base.channels))
    return replace(base, channels=channels, model=query.model or base.model,
                   projection=query.projection or base.projection,
                   z=base.z if query.z is None else query.z,
                   t=base.t if query.t is None else query.t)


def _text(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def query_of(settings: RenderSettings) -> dict[str, str]:
    """Parameters that carry ``settings`` whole: ``apply_query(any base with the same
    channel count, parse_query(query_of(s))) == s``, except that a channel with a LUT
    keeps the base's (unused) colour, as ``$`` holds either a colour or a LUT."""
    entries, maps = [], []
    for c, channel in enumerate(settings.channels):
        look = f"{channel.lut}.lut" if channel.lut else format_color(channel.color)
        sign = "" if channel.active else "-"
        entries.append(f"{sign}{c + 1}|{_text(channel.start)}:{_text(channel.end)}${look}")
        maps.append({"reverse": {"enabled": channel.reverse},
                     "quantization": {"family": channel.family,
                                      "coefficient": channel.coefficient},
                     "noise_reduction": {"enabled": channel.noise_reduction}})
    projection = settings.projection
    names = {kind: name for name, kind in _PROJECTIONS.items()}
    p = names[projection.kind]
    if (projection.start, projection.end) != (None, None):
        bounds = ("" if b is None else str(b) for b in (projection.start, projection.end))
        p += "|" + ":".join(bounds)
    models = {model: key for key, model in _MODELS.items()}
    return {"c": ",".join(entries), "maps": json.dumps(maps, separators=(",", ":")),
            "m": models[settings.model], "p": p, "z": str(settings.z), "t": str(settings.t)}


def format_query(params: Mapping[str, str]) -> str:
    """A URL query string of ``params``, leaving the grammar's punctuation readable."""
    return urlencode(params, safe="|$:,-")
