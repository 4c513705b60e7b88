"""Rendering settings through GraphQL: defaults, save, reset, copy, the owner's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tests.imports.conftest import Importer, Member
from tests.rendering.conftest import import_image, rendering_of

SAVE = """mutation($image: ID!, $q: String!) { saveRenderingSettings(image: $image,
  query: $q) { __typename ... on RenderingPayload { rendering { isOwn
    settings { query model channels { active start end color } } } }
  ... on Error { code message field } } }"""

RESET = """mutation($image: ID!) { resetRenderingSettings(image: $image) {
  __typename ... on RenderingPayload { rendering { isOwn settings { query } } }
  ... on Error { code message field } } }"""

COPY = """mutation($from: ID!, $to: [ID!]!) { copyRenderingSettings(from: $from, to: $to) {
  __typename ... on RenderingBatchPayload { renderings { imageId settings { query } }
    errors { code field message } }
  ... on Error { code message field } } }"""

APPLY_OWNERS = """mutation($images: [ID!]!) { applyOwnersRenderingSettings(images: $images) {
  __typename ... on RenderingBatchPayload { renderings { imageId isOwn settings { query } }
    errors { code field message } }
  ... on Error { code message field } } }"""


def _save(importer: Importer, who: Member, image: str, query: str) -> dict[str, Any]:
    result: dict[str, Any] = importer.api.data(SAVE, who.token, image=image,
                                               q=query)["saveRenderingSettings"]
    return result


def test_defaults_come_from_the_statistics_and_default_colours(
        importer: Importer, alice: Member, two_channels: str) -> None:
    rendering = rendering_of(importer, alice, two_channels)
    assert rendering["isOwn"] is False and rendering["imageId"] == two_channels
    settings = rendering["settings"]
    assert settings["model"] == "color" and (settings["z"], settings["t"]) == (0, 0)
    first, second = settings["channels"]
    # The 0.1/99.9 percentiles of a 100..147 ramp, red then green.
    assert 100 <= first["start"] < 101 and 146 < first["end"] <= 147
    assert first["color"] == "FF0000" and second["color"] == "00FF00"
    assert first["active"] and second["active"] and first["family"] == "linear"
    assert settings["query"].startswith("c=1|")
    source = rendering["tileSource"]
    assert source["tileSize"] == 256 and source["levels"] == [[48, 40]]
    assert "{level}/{col}/{row}.jpg?" in source["urlTemplate"]


def test_save_applies_the_omero_query_and_reset_returns_to_the_defaults(
        importer: Importer, alice: Member, two_channels: str) -> None:
    defaults = rendering_of(importer, alice, two_channels)["settings"]["query"]
    saved = _save(importer, alice, two_channels, "c=1|0:500$0000FF,-2&m=g")
    assert saved["__typename"] == "RenderingPayload", saved
    rendering = saved["rendering"]
    assert rendering["isOwn"] is True and rendering["settings"]["model"] == "greyscale"
    first, second = rendering["settings"]["channels"]
    assert (first["start"], first["end"], first["color"], first["active"]) == (
        0, 500, "0000FF", True)
    assert second["active"] is False
    after = rendering_of(importer, alice, two_channels)
    assert after["isOwn"] and after["settings"]["query"] == rendering["settings"]["query"]
    reset = importer.api.data(RESET, alice.token, image=two_channels)["resetRenderingSettings"]
    assert reset["rendering"]["settings"]["query"] == defaults
    assert reset["rendering"]["isOwn"] is True


def test_bad_queries_are_typed_errors(importer: Importer, alice: Member,
                                      two_channels: str) -> None:
    for query in ("c=3|0:1$FF0000", "m=x", "z=5", "c=1|a:b"):
        result = _save(importer, alice, two_channels, query)
        assert result["__typename"] == "ValidationError", (query, result)
        assert result["field"] == "query" and result["message"]
    missing = _save(importer, alice, "Image:999999", "m=g")
    assert missing["__typename"] == "NotFoundError"


def test_a_member_sees_the_owners_settings_until_saving_their_own(
        importer: Importer, alice: Member, bob: Member, two_channels: str) -> None:
    _save(importer, alice, two_channels, "c=1|0:300$FF00FF,2&m=c")
    owners = rendering_of(importer, alice, two_channels)["settings"]
    seen = rendering_of(importer, bob, two_channels)
    assert seen["isOwn"] is False and seen["settings"] == owners
    # Bob may only view alice's image (read-only group), yet keeps his own settings.
    mine = _save(importer, bob, two_channels, "m=g")
    assert mine["__typename"] == "RenderingPayload", mine
    assert rendering_of(importer, bob, two_channels)["settings"]["model"] == "greyscale"
    assert rendering_of(importer, alice, two_channels)["settings"] == owners
    # ... and can take the owner's again.
    applied = importer.api.data(APPLY_OWNERS, bob.token, images=[two_channels, "Image:999999"])
    batch = applied["applyOwnersRenderingSettings"]
    assert [r["isOwn"] for r in batch["renderings"]] == [True]
    assert batch["renderings"][0]["settings"] == {"query": owners["query"]}
    assert [(e["code"], e["field"]) for e in batch["errors"]] == [("NOT_FOUND", "images.1")]


def test_copy_saves_on_images_that_fit_and_reports_the_others(
        importer: Importer, alice: Member, two_channels: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    same = import_image(importer, alice, tmp_path, rng.integers(0, 99, (2, 16, 16), np.uint16),
                        "same.ome.tif")
    three = import_image(importer, alice, tmp_path, rng.integers(0, 99, (3, 16, 16), np.uint16),
                         "three.ome.tif")
    _save(importer, alice, two_channels, "c=1|5:6$FFFFFF,-2|7:8$FF0000&m=c")
    source = rendering_of(importer, alice, two_channels)["settings"]["query"]
    copied = importer.api.data(COPY, alice.token, **{"from": two_channels,
                                                     "to": [same, three, "Image:999999"]})
    batch = copied["copyRenderingSettings"]
    assert [r["imageId"] for r in batch["renderings"]] == [same]
    assert batch["renderings"][0]["settings"]["query"] == source
    assert [(e["code"], e["field"]) for e in batch["errors"]] == [
        ("INVALID", "to.1"), ("NOT_FOUND", "to.2")]
    assert "channels" in batch["errors"][0]["message"]
    assert rendering_of(importer, alice, three)["isOwn"] is False


def test_an_outsider_sees_neither_the_image_nor_its_settings(
        importer: Importer, alice: Member, world_private: Member, two_channels: str) -> None:
    node = importer.api.data("query($id: ID!) { node(id: $id) { id } }", world_private.token,
                             id=two_channels)["node"]
    assert node is None
    result = _save(importer, world_private, two_channels, "m=g")
    assert result["__typename"] == "NotFoundError"
    copied = importer.api.data(COPY, world_private.token,
                               **{"from": two_channels, "to": [two_channels]})
    assert copied["copyRenderingSettings"]["__typename"] == "NotFoundError"
