"""Settings validate on construction and fit images; defaults come from statistics and
channel colours the way OMERO picks them."""

from __future__ import annotations

import math

import pytest

from engine.metadata import Channel, ImageMetadata, rgba_to_int
from engine.render.settings import (
    ChannelSettings,
    InvalidRenderSettings,
    Projection,
    RenderSettings,
    defaults_from,
    format_color,
    parse_color,
)
from engine.stats import ChannelStats


def meta(size_c: int, pixel_type: str = "uint16", colors: tuple[int | None, ...] = (),
         size_z: int = 5) -> ImageMetadata:
    return ImageMetadata(name="m", series=0, size_x=4, size_y=4, size_z=size_z, size_c=size_c,
                         size_t=1, pixel_type=pixel_type,
                         channels=tuple(Channel(color=c) for c in colors),
                         resolution_levels=((4, 4),))


def stats(low: float, high: float, lo: float | None = None, hi: float | None = None,
          sampled: int = 10) -> ChannelStats:
    return ChannelStats(min=low if lo is None else lo, max=high if hi is None else hi,
                        low=low, high=high, mean=(low + high) / 2, sampled=sampled)


@pytest.mark.parametrize(("changes", "message"), [
    ({"start": math.nan}, "finite"),
    ({"end": math.inf}, "finite"),
    ({"color": (256, 0, 0, 255)}, "colour"),
    ({"color": (1, 2, 3)}, "colour"),
    ({"lut": "nope.lut"}, "unknown lookup table"),
    ({"family": "cubic"}, "family"),
    ({"coefficient": 0.0}, "coefficient"),
    ({"coefficient": math.nan}, "coefficient"),
])
def test_channel_settings_refuse_bad_values(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidRenderSettings, match=message):
        ChannelSettings(**{"start": 0.0, "end": 1.0, **changes})  # type: ignore[arg-type]


def test_lut_names_are_canonical() -> None:
    assert ChannelSettings(0.0, 1.0, lut="Fire.LUT").lut == "fire"
    assert ChannelSettings(0.0, 1.0, lut="grays").lut == "greys"


def test_render_settings_and_projection_validate() -> None:
    channel = ChannelSettings(0.0, 1.0)
    with pytest.raises(InvalidRenderSettings, match=r"1\.\.1024 channels"):
        RenderSettings(channels=())
    with pytest.raises(InvalidRenderSettings, match="model"):
        RenderSettings(channels=(channel,), model="rgb")
    with pytest.raises(InvalidRenderSettings, match="backwards"):
        Projection("max", 3, 1)
    with pytest.raises(InvalidRenderSettings, match="projection"):
        Projection("median")
    assert Projection("sum", None, 2).planes(5) == range(0, 3)
    assert Projection("sum", 1).planes(5) == range(1, 5)


def test_rendered_channels_follow_the_model() -> None:
    on, off = ChannelSettings(0.0, 1.0), ChannelSettings(0.0, 1.0, active=False)
    settings = RenderSettings(channels=(off, on, on))
    assert settings.rendered_channels() == [1, 2]
    assert RenderSettings(channels=(off, on, on), model="greyscale").rendered_channels() == [1]


def test_colours_parse_and_format() -> None:
    assert parse_color("FF8000") == (255, 128, 0, 255)
    assert parse_color("ff800080") == (255, 128, 0, 128)
    assert format_color((255, 128, 0, 255)) == "FF8000"
    assert format_color((255, 128, 0, 128)) == "FF800080"
    for bad in ("#FF0000", "FF00", "GG0000", "FF0000FF00"):
        with pytest.raises(InvalidRenderSettings, match="colour"):
            parse_color(bad)


def test_defaults_from_statistics_and_colours() -> None:
    image = meta(3, colors=(rgba_to_int(0, 0, 255), None, None))
    settings = defaults_from(image, [stats(10, 900), stats(5, 5, 0, 7),
                                     stats(math.nan, math.nan, sampled=0)])
    first, second, third = settings.channels
    assert (first.start, first.end, first.color) == (10, 900, (0, 0, 255, 255))
    assert (second.start, second.end) == (0, 7)  # constant percentiles: min..max
    assert (third.start, third.end) == (0, 65535)  # no statistics: the type's range
    assert second.color[:3] == (0, 255, 0) and third.color[:3] == (0, 0, 255)
    assert all(ch.active and ch.family == "linear" and not ch.reverse
               for ch in settings.channels)
    assert (settings.model, settings.z, settings.t) == ("color", 2, 0)
    assert settings.projection == Projection()


def test_single_channel_defaults_to_greyscale_and_floats_to_unit_window() -> None:
    settings = defaults_from(meta(1, "float", size_z=1), [None])
    assert settings.model == "greyscale" and settings.z == 0
    assert (settings.channels[0].start, settings.channels[0].end) == (0.0, 1.0)
    assert settings.channels[0].color == (255, 255, 255, 255)
    with pytest.raises(InvalidRenderSettings, match="2 statistics for 1"):
        defaults_from(meta(1), [None, None])
