"""Rendered tiles and regions over HTTP: signed URLs, the session, bounds, permissions."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import numpy as np
from PIL import Image as PILImage

from tests.imports.conftest import Importer, Member
from tests.rendering.conftest import import_image, rendering_of


def _decode(content: bytes) -> np.ndarray:
    return np.asarray(PILImage.open(io.BytesIO(content)).convert("RGB"))


def _tile_url(template: str, level: int = 0, col: int = 0, row: int = 0,
              fmt: str = "jpg", **extra: str) -> str:
    url = template.replace("{level}", str(level)).replace("{col}", str(col))
    url = url.replace("{row}", str(row)).replace(".jpg?", f".{fmt}?")
    return url + ("&" + urlencode(extra) if extra else "")


def _red_image(importer: Importer, alice: Member, tmp_path: Path) -> str:
    data = np.zeros((2, 300, 600), np.uint16)
    data[0] = 1000
    data[1] = np.arange(600, dtype=np.uint16)[None, :]
    return import_image(importer, alice, tmp_path, data, "red.ome.tif")


def test_a_red_channel_at_full_window_renders_red_tiles_of_the_right_size(
        importer: Importer, alice: Member, tmp_path: Path) -> None:
    image = _red_image(importer, alice, tmp_path)
    source = rendering_of(importer, alice, image)["tileSource"]
    template = source["urlTemplate"]
    assert source["levels"][0] == [600, 300] and len(source["levels"]) > 1  # a pyramid
    client = importer.client
    level, (width, height) = len(source["levels"]) - 1, source["levels"][-1]
    top = client.get(_tile_url(template, level=level, fmt="png", c="1|0:1000$FF0000,-2"))
    assert top.status_code == 200 and _decode(top.content).shape == (height, width, 3)
    response = client.get(_tile_url(template, fmt="png", c="1|0:1000$FF0000,-2"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.headers["etag"] and "max-age" in response.headers["cache-control"]
    pixels = _decode(response.content)
    assert pixels.shape == (256, 256, 3)
    assert (pixels == [255, 0, 0]).all()
    # The last column of tiles is clipped to the image: 600 = 2 * 256 + 88.
    edge = client.get(_tile_url(template, col=2, row=1, fmt="png"))
    assert edge.status_code == 200 and _decode(edge.content).shape == (300 - 256, 88, 3)
    # The same tile again: 304 with its ETag.
    again = client.get(_tile_url(template, fmt="png", c="1|0:1000$FF0000,-2"),
                       headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    big = client.get(_tile_url(template, size="512"))
    assert big.status_code == 200 and _decode(big.content).shape == (300, 512, 3)


def test_saved_settings_are_in_the_signed_urls_and_read_with_the_session(
        importer: Importer, alice: Member, tmp_path: Path) -> None:
    image = _red_image(importer, alice, tmp_path)
    importer.api.data("""mutation($i: ID!) { saveRenderingSettings(image: $i,
        query: "c=-1,2|0:1$00FF00&m=c") { __typename } }""", alice.token, i=image)
    template = rendering_of(importer, alice, image)["tileSource"]["urlTemplate"]
    signed = _decode(importer.client.get(_tile_url(template, col=1, fmt="png")).content)
    assert (signed == [0, 255, 0]).all()  # channel 2 is >= 1 from x = 1 on
    pk = image.split(":")[1]
    by_session = importer.client.get(f"/tiles/{pk}/0/1/0.png", headers=alice.headers)
    assert by_session.status_code == 200 and by_session.headers["cache-control"] == (
        "private, no-cache")
    assert (_decode(by_session.content) == signed).all()
    thumbnail = importer.client.get(rendering_of(importer, alice, image)["thumbnailUrl"])
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"
    assert _decode(thumbnail.content).shape == (48, 96, 3)


def test_signed_urls_work_without_credentials_and_fail_when_tampered(
        importer: Importer, alice: Member, two_channels: str) -> None:
    url = _tile_url(rendering_of(importer, alice, two_channels)["tileSource"]["urlTemplate"])
    assert importer.client.get(url).status_code == 200
    path, _, query = url.partition("?")
    params = dict(parse_qsl(query))
    for key, value in (("s", params["s"][:-2] + "xx"), ("u", "1" + params["u"]),
                       ("src", params["src"].replace(".ome.tif", ".tif"))):
        tampered = f"{path}?{urlencode({**params, key: value})}"
        assert importer.client.get(tampered).status_code == 401, key
    other_image = url.replace(f"/tiles/{two_channels.split(':')[1]}/", "/tiles/999999/")
    assert importer.client.get(other_image).status_code == 401


def test_bad_parameters_and_out_of_range_tiles(importer: Importer, alice: Member,
                                               two_channels: str) -> None:
    template = rendering_of(importer, alice, two_channels)["tileSource"]["urlTemplate"]
    client = importer.client
    for url, status in ((_tile_url(template, col=1), 404), (_tile_url(template, level=1), 404),
                        (_tile_url(template, size="300"), 400),
                        (_tile_url(template, fmt="gif"), 400),
                        (_tile_url(template, c="9|0:1$FF0000"), 400),
                        (_tile_url(template, m="x"), 400)):
        response = client.get(url)
        assert response.status_code == status, (url, response.text)
        assert response.json()["errors"][0]["message"]
    pk = two_channels.split(":")[1]
    region = f"/regions/{pk}.png"
    ok = client.get(f"{region}?x=8&y=4&w=20&h=10", headers=alice.headers)
    assert ok.status_code == 200 and _decode(ok.content).shape == (10, 20, 3)
    scaled = client.get(f"{region}?width=24", headers=alice.headers)
    assert _decode(scaled.content).shape == (20, 24, 3)
    tif = client.get(f"/regions/{pk}.tif?w=4&h=4", headers=alice.headers)
    assert tif.status_code == 200 and tif.headers["content-type"] == "image/tiff"
    for query in ("x=40&w=20", "h=41", "w=0", "x=-1", "level=3", "width=49", "x=a"):
        response = client.get(f"{region}?{query}", headers=alice.headers)
        assert response.status_code == 400, (query, response.text)
        assert response.json()["errors"][0]["extensions"]["code"] == "INVALID"


def test_a_private_group_outsider_gets_404_and_no_credentials_get_401(
        importer: Importer, alice: Member, world_private: Member, two_channels: str) -> None:
    pk = two_channels.split(":")[1]
    for path in (f"/tiles/{pk}/0/0/0.jpg", f"/regions/{pk}.png"):
        assert importer.client.get(path, headers=world_private.headers).status_code == 404
        assert importer.client.get(path).status_code == 401
    assert importer.client.get("/tiles/999999/0/0/0.jpg",
                               headers=alice.headers).status_code == 404
