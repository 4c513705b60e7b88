"""Named LUTs are (256, 3) uint8 ramps with the look their names promise."""

from __future__ import annotations

import numpy as np
import pytest

from engine.render.luts import LUT_NAMES, MAX_NAME_LENGTH, canonical_name, color_ramp, lut


@pytest.mark.parametrize("name", LUT_NAMES)
def test_every_lut_is_a_read_only_table(name: str) -> None:
    table = lut(name)
    assert table.shape == (256, 3) and table.dtype == np.uint8
    assert not table.flags.writeable
    assert lut(name.upper() + ".lut") is table


def test_the_set_omero_users_expect() -> None:
    assert {"greys", "fire", "ice", "viridis", "red", "green", "blue", "cyan", "magenta",
            "yellow", "hilo"} <= set(LUT_NAMES)
    assert lut("greys")[[0, 128, 255]].tolist() == [[0, 0, 0], [128] * 3, [255] * 3]
    assert lut("hilo")[0].tolist() == [0, 0, 255] and lut("hilo")[255].tolist() == [255, 0, 0]
    assert lut("magenta")[255].tolist() == [255, 0, 255]
    brightness = lut("fire").astype(int).sum(axis=1)
    assert brightness[0] == 0 and brightness[255] == 765
    assert (np.diff(lut("viridis")[:, 1].astype(int)) >= 0).all()  # green rises throughout


def test_unknown_and_hostile_names() -> None:
    assert canonical_name("nope") is None
    assert canonical_name("fire" * MAX_NAME_LENGTH) is None
    with pytest.raises(KeyError):
        lut("x" * 10_000)


def test_color_ramp_weighs_by_alpha() -> None:
    ramp = color_ramp(255, 128, 0)
    assert ramp[255].tolist() == [255, 128, 0] and ramp[0].tolist() == [0, 0, 0]
    assert color_ramp(255, 0, 0, 128)[255].tolist() == [128, 0, 0]
