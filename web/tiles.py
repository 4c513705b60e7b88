"""Rendered pixels over HTTP: tiles of a resolution level, and regions (with a thumbnail as
a small whole-image region).

``GET /tiles/{image}/{level}/{col}/{row}.{jpg|png}?size=256|512`` and
``GET /regions/{image}.{jpg|png|tif}?x=&y=&w=&h=&level=&width=``; OMERO.web's rendering
parameters (``c``, ``m``, ``p``, ``z``, ``t``, ``q``, ``maps``) override the settings.

Two ways in. A URL handed out by GraphQL is signed for one image read from one pixel source
(``src``: repository-relative paths and a series) and carries the settings whole, so it is
served without touching the database: the source is opened from the signed paths (kept
open in a small LRU) and the settings come from the URL. Such a URL is not re-checked
against the database (that would cost a lookup per tile); revoked access ends when it
expires. With the session (cookie or bearer) instead, visibility is checked and the
viewer's settings are read from the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from PIL import Image as PILImage
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.errors import EngineError
from engine.readers import ImageSource, Limits
from engine.readers.fileset import open_fileset
from engine.render import (
    ChannelSettings,
    InvalidRenderSettings,
    RenderQuery,
    RenderSettings,
    apply_query,
    encode,
    format_query,
    parse_query,
    query_of,
    render_region,
)
from omegraph.settings import Settings
from resolvers import rendering
from resolvers.errors import DomainError
from resolvers.rendering import PixelSource, render_scope
from resolvers.signing import Signer
from store.repository import Repository, UnsafePath
from web.errors import domain_error_response, error_response, unauthenticated

TILE_SIZES = (256, 512)
#: Longest side of a region's output, and most pixels read for one region.
MAX_OUTPUT_SIDE = 4096
MAX_REGION_PIXELS = 4096 * 4096
TILE_FORMATS = {"jpg": "jpeg", "png": "png"}
REGION_FORMATS = {"jpg": "jpeg", "png": "png", "tif": "tiff"}
MEDIA_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "tiff": "image/tiff"}
SIGNED_CACHE = "private, max-age=3600"
SESSION_CACHE = "private, no-cache"  # settings may change: revalidate with the ETag


class BadRequest(ValueError):
    """A parameter that cannot be served; 400 (or ``status``) with a message for people."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class _Entry:
    source: ImageSource
    users: int = 0
    evicted: bool = False


class OpenSources:
    """Opened pixel sources by (image id, source token), least recently used evicted; a
    source still being read when evicted is closed by its last reader."""

    def __init__(self, repository: Repository, limits: Limits, size: int = 16) -> None:
        self._repository = repository
        self._limits = limits
        self._size = size
        self._entries: OrderedDict[tuple[int, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def _open(self, source: PixelSource) -> ImageSource:
        if not source.paths:
            raise BadRequest("the image has no pixels", 404)
        try:
            paths = [self._repository.existing_file(path) for path in source.paths]
        except (UnsafePath, FileNotFoundError):
            raise BadRequest("the image's pixels are missing", 410) from None
        return open_fileset(paths, self._limits)

    @contextmanager
    def use(self, image_id: int, source: PixelSource) -> Iterator[ImageSource]:
        key = (image_id, source.token())
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                entry.users += 1
        if entry is None:
            opened = self._open(source)
            with self._lock:
                entry = self._entries.get(key)
                duplicate = entry is not None
                if entry is None:
                    entry = self._entries[key] = _Entry(opened)
                entry.users += 1
                self._evict()
            if duplicate:  # another request opened it meanwhile
                opened.close()
        try:
            yield entry.source
        finally:
            with self._lock:
                entry.users -= 1
                close = entry.evicted and entry.users == 0
            if close:
                entry.source.close()

    def _evict(self) -> None:
        while len(self._entries) > self._size:
            _key, entry = self._entries.popitem(last=False)
            entry.evicted = True
            if entry.users == 0:
                entry.source.close()

    def close(self) -> None:
        with self._lock:
            for entry in self._entries.values():
                entry.evicted = True
                if entry.users == 0:
                    entry.source.close()
            self._entries.clear()


def open_sources(settings: Settings) -> OpenSources:
    """The app's cache of opened sources (``app.state.render_sources``)."""
    return OpenSources(Repository(settings.repository_dir),
                       Limits(max_image_pixels=settings.max_image_pixels))


def _sources(request: Request) -> OpenSources:
    sources: OpenSources = request.app.state.render_sources
    return sources


@dataclass(frozen=True)
class Target:
    """What to render: the image's source, and the settings the overrides apply to (None:
    the URL carries them whole)."""

    image_id: int
    source: PixelSource
    base: RenderSettings | None
    signed: bool


def _int(params: dict[str, str], name: str, default: int | None = None) -> int:
    text = params.get(name, "")
    if text == "" and default is not None:
        return default
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise BadRequest(f"{name} must be a whole number >= 0, got {text[:40]!r}")
    return int(text)


async def _target(request: Request, image_id: int, params: dict[str, str]) -> Target:
    token = params.get("src")
    signer: Signer = request.app.state.signer
    if token is not None and signer.verify(render_scope(image_id, token), params) is not None:
        try:
            return Target(image_id, PixelSource.parse(token), None, True)
        except ValueError:
            raise BadRequest("malformed src") from None
    state = request.scope["state"]
    if state["auth"].actor is None:
        raise PermissionError
    found = await state["db"].run(rendering.rendering, state["auth"].actor, image_id)
    return Target(image_id, found.source, found.settings, False)


def _settings(target: Target, size_c: int, query: RenderQuery) -> RenderSettings:
    base = target.base or RenderSettings(
        channels=tuple(ChannelSettings(start=0.0, end=1.0) for _ in range(size_c)))
    return apply_query(base, query)


def _etag(target: Target, settings: RenderSettings, *parts: object) -> str:
    text = "\n".join([target.source.token(), format_query(query_of(settings)),
                      *map(str, parts)])
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class Box:
    level: int
    x: int
    y: int
    w: int
    h: int
    out_w: int
    out_h: int


BoxOf = Callable[[tuple[tuple[int, int], ...]], Box]


def _render(sources: OpenSources, target: Target, query: RenderQuery, fmt: str,
            box_of: BoxOf, if_none_match: str | None) -> tuple[bytes | None, str]:
    """Encoded pixels (None when ``if_none_match`` still holds) and their ETag."""
    with sources.use(target.image_id, target.source) as source:
        meta = source.images[target.source.series]
        settings = _settings(target, meta.size_c, query)
        box: Box = box_of(meta.resolution_levels)
        etag = _etag(target, settings, fmt, query.quality, box)
        if if_none_match == etag:
            return None, etag
        rgb = render_region(source, target.source.series, box.level, box.x, box.y, box.w,
                            box.h, settings)
    if (box.out_w, box.out_h) != (box.w, box.h):
        rgb = np.asarray(PILImage.fromarray(rgb).resize((box.out_w, box.out_h),
                                                        PILImage.Resampling.LANCZOS))
    return encode(rgb, fmt, query.quality or 0.9), etag


async def _serve(request: Request, formats: dict[str, str], box_of: BoxOf) -> Response:
    params = dict(request.query_params)
    image_id = request.path_params["image"]
    try:
        fmt = formats.get(request.path_params["fmt"])
        if fmt is None:
            raise BadRequest(f"format must be one of {', '.join(formats)}")
        query = parse_query(params)
        target = await _target(request, image_id, params)
        body, etag = await asyncio.to_thread(
            _render, _sources(request), target, query, fmt, box_of,
            request.headers.get("if-none-match"))
    except PermissionError:
        return unauthenticated()
    except DomainError as exc:
        return domain_error_response(exc)
    except BadRequest as exc:
        code = {404: "NOT_FOUND", 410: "GONE"}.get(exc.status, "INVALID")
        return error_response(exc.status, code, exc.message)
    except (InvalidRenderSettings, EngineError) as exc:
        return error_response(400, "INVALID", str(exc))
    headers = {"ETag": etag, "Cache-Control": SIGNED_CACHE if target.signed else SESSION_CACHE}
    if body is None:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)


async def tile(request: Request) -> Response:
    params = dict(request.query_params)
    level, col, row = (request.path_params[name] for name in ("level", "col", "row"))

    def box_of(levels: tuple[tuple[int, int], ...]) -> Box:
        size = _int(params, "size", TILE_SIZES[0])
        if size not in TILE_SIZES:
            raise BadRequest(f"size must be one of {', '.join(map(str, TILE_SIZES))}")
        if level >= len(levels):
            raise BadRequest(f"no level {level}: the image has {len(levels)}", 404)
        width, height = levels[level]
        x, y = col * size, row * size
        if x >= width or y >= height:
            raise BadRequest(f"no tile {col},{row} at level {level}", 404)
        w, h = min(size, width - x), min(size, height - y)
        return Box(level, x, y, w, h, w, h)

    return await _serve(request, TILE_FORMATS, box_of)


async def region(request: Request) -> Response:
    params = dict(request.query_params)

    def box_of(levels: tuple[tuple[int, int], ...]) -> Box:
        level = _int(params, "level", 0)
        if level >= len(levels):
            raise BadRequest(f"no level {level}: the image has {len(levels)}")
        width, height = levels[level]
        x, y = _int(params, "x", 0), _int(params, "y", 0)
        w, h = _int(params, "w", width - x if x < width else 1), \
            _int(params, "h", height - y if y < height else 1)
        if w == 0 or h == 0 or x + w > width or y + h > height:
            raise BadRequest(f"region x={x} y={y} {w}x{h} outside level {level} "
                             f"({width}x{height})")
        if w * h > MAX_REGION_PIXELS:
            raise BadRequest(f"region of {w}x{h} exceeds {MAX_REGION_PIXELS} pixels; "
                             "read it from a lower level")
        out_w = _int(params, "width", min(w, MAX_OUTPUT_SIDE))
        out_h = max(1, round(h * out_w / w))
        if not 0 < out_w <= w or max(out_w, out_h) > MAX_OUTPUT_SIDE:
            raise BadRequest(f"width must be 1..{min(w, MAX_OUTPUT_SIDE)} and the output's "
                             f"sides at most {MAX_OUTPUT_SIDE}")
        return Box(level, x, y, w, h, out_w, out_h)

    return await _serve(request, REGION_FORMATS, box_of)


def routes() -> list[Route]:
    return [Route("/tiles/{image:int}/{level:int}/{col:int}/{row:int}.{fmt}", tile),
            Route("/regions/{image:int}.{fmt}", region)]
