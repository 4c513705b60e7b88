"""Rendering settings per (user, image): which apply, saving, resetting and copying them.

A viewer sees their own settings, else the image owner's, else the import defaults
(``engine.render.defaults_from`` over the channel statistics and OME colours). Anybody who
may view an image may keep their own settings of it, as in OMERO.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import metadata as meta_model
from engine.render import (
    InvalidRenderSettings,
    RenderSettings,
    apply_query,
    check_fits,
    defaults_from,
    parse_query,
    query_of,
)
from engine.stats import ChannelStats
from resolvers.actor import Actor
from resolvers.errors import DomainError, Invalid, NotFound
from resolvers.permissions import Action, require
from store.containers import Image
from store.pixels import Channel, OriginalFile, Pixels, PyramidState
from store.rendering import RenderingSettings

#: Longest settings query accepted by ``save`` (1024 channels fit).
MAX_QUERY_LENGTH = 65536


class NoPixels(Invalid):
    """The image has no pixel metadata (yet): there is nothing to render."""


@dataclass(frozen=True)
class PixelSource:
    """Where an image's pixels are read from: repository-relative paths and a series."""

    paths: tuple[str, ...]
    series: int

    def token(self) -> str:
        return json.dumps([self.series, *self.paths], separators=(",", ":"))

    @staticmethod
    def parse(token: str) -> PixelSource:
        """The source a (signed) token names; ValueError when malformed."""
        value = json.loads(token)
        if (not isinstance(value, list) or len(value) < 2 or not isinstance(value[0], int)
                or not all(isinstance(p, str) for p in value[1:])):
            raise ValueError("malformed pixel source")
        return PixelSource(tuple(value[1:]), value[0])


@dataclass(frozen=True)
class Rendering:
    """The settings ``user_id`` sees for an image, and what a viewer needs to draw it."""

    image_id: int
    user_id: int
    settings: RenderSettings
    is_own: bool
    levels: tuple[tuple[int, int], ...]
    source: PixelSource


def _visible_image(db: Session, actor: Actor, image_id: int, field: str = "image") -> Image:
    image = db.get(Image, image_id)
    if image is None:
        raise NotFound("image not found", field)
    require(actor, Action.VIEW, image, "image", field)
    return image


def _pixels(db: Session, image: Image, field: str) -> Pixels:
    pixels = db.scalar(select(Pixels).where(Pixels.image_id == image.id))
    if pixels is None:
        raise NoPixels("the image has no pixels yet", field)
    return pixels


def image_metadata(db: Session, image: Image, pixels: Pixels
                   ) -> tuple[meta_model.ImageMetadata, list[ChannelStats | None]]:
    """The engine's view of an image (sizes, channel colours) and its statistics, from rows."""
    rows = list(db.scalars(select(Channel).where(Channel.pixels_id == pixels.id)
                           .order_by(Channel.index)))
    by_index = {row.index: row for row in rows}
    channels: list[meta_model.Channel] = []
    stats: list[ChannelStats | None] = []
    for c in range(pixels.size_c):
        row = by_index.get(c)
        channels.append(meta_model.Channel(name=row.name if row else None,
                                           color=row.color if row else None))
        if row is None or row.stats_low is None or row.stats_high is None:
            stats.append(None)
            continue
        low, high = row.stats_low, row.stats_high
        stats.append(ChannelStats(min=row.stats_min if row.stats_min is not None else low,
                                  max=row.stats_max if row.stats_max is not None else high,
                                  low=low, high=high, mean=float("nan"), sampled=1))
    levels = tuple((int(w), int(h)) for w, h in pixels.levels or [[pixels.size_x,
                                                                 pixels.size_y]])
    meta = meta_model.ImageMetadata(
        name=image.name, series=image.series, size_x=pixels.size_x, size_y=pixels.size_y,
        size_z=pixels.size_z, size_c=pixels.size_c, size_t=pixels.size_t,
        pixel_type=pixels.pixel_type, dimension_order=pixels.dimension_order,
        channels=tuple(channels), resolution_levels=levels)
    return meta, stats


def pixel_source(db: Session, image: Image, pixels: Pixels) -> PixelSource:
    """The pyramid once ready, else the fileset's original files (as ``open_image``)."""
    if pixels.pyramid_path and pixels.pyramid_state == PyramidState.READY.value:
        return PixelSource((pixels.pyramid_path,), 0)
    paths = tuple(db.scalars(select(OriginalFile.path)
                             .where(OriginalFile.fileset_id == image.fileset_id)
                             .order_by(OriginalFile.id))) if image.fileset_id else ()
    return PixelSource(paths, image.series)


def settings_of(base: RenderSettings, query: dict[str, str]) -> RenderSettings:
    """Stored (complete) settings over ``base``, which gives only the channel count."""
    return apply_query(base, parse_query(query))


def _row(db: Session, image_id: int, user_id: int) -> RenderingSettings | None:
    return db.scalar(select(RenderingSettings).where(RenderingSettings.image_id == image_id,
                                                     RenderingSettings.owner_id == user_id))


def _stored(db: Session, image: Image, meta: meta_model.ImageMetadata, defaults: RenderSettings,
            user_id: int) -> RenderSettings | None:
    row = _row(db, image.id, user_id)
    if row is None:
        return None
    try:
        settings = settings_of(defaults, row.query)
        check_fits(settings, meta)
    except InvalidRenderSettings:
        return None  # no longer fits (pixels rebuilt): as if never saved
    return settings


def rendering(db: Session, actor: Actor, image_id: int, field: str = "image") -> Rendering:
    """The settings ``actor`` sees for the image: theirs, else its owner's, else defaults."""
    image = _visible_image(db, actor, image_id, field)
    pixels = _pixels(db, image, field)
    meta, stats = image_metadata(db, image, pixels)
    defaults = defaults_from(meta, stats)
    own = _stored(db, image, meta, defaults, actor.user_id)
    settings = own
    if settings is None and image.owner_id != actor.user_id:
        settings = _stored(db, image, meta, defaults, image.owner_id)
    return Rendering(image.id, actor.user_id, settings or defaults, own is not None,
                     meta.resolution_levels, pixel_source(db, image, pixels))


def _keep(db: Session, actor: Actor, image_id: int, settings: RenderSettings) -> None:
    """Store ``settings`` as ``actor``'s own for the image (insert or update)."""
    image = db.get(Image, image_id)
    assert image is not None
    row = _row(db, image_id, actor.user_id)
    if row is None:
        db.add(RenderingSettings(image_id=image_id, owner_id=actor.user_id,
                                 group_id=image.group_id, query=query_of(settings)))
    else:
        row.query = query_of(settings)
        row.group_id = image.group_id
    db.flush()


def parse_settings_query(text: str, field: str = "query") -> dict[str, str]:
    """OMERO.web's query string (``c=1|0:255$FF0000&m=c``) as parameters."""
    if len(text) > MAX_QUERY_LENGTH:
        raise Invalid(f"at most {MAX_QUERY_LENGTH} characters", field)
    return dict(parse_qsl(text.lstrip("?"), keep_blank_values=True))


def save(db: Session, actor: Actor, image_id: int, query: str) -> Rendering:
    """Apply OMERO.web's ``query`` to the settings the actor sees, and keep them as theirs."""
    current = rendering(db, actor, image_id)
    params = parse_settings_query(query)
    image = db.get(Image, image_id)
    assert image is not None
    meta, _stats = image_metadata(db, image, _pixels(db, image, "image"))
    try:
        settings = apply_query(current.settings, parse_query(params))
        check_fits(settings, meta)
    except InvalidRenderSettings as exc:
        raise Invalid(str(exc), "query") from None
    _keep(db, actor, image_id, settings)
    db.commit()
    return replace(current, settings=settings, is_own=True)


def reset(db: Session, actor: Actor, image_id: int) -> Rendering:
    """Set the actor's own settings back to the import defaults."""
    image = _visible_image(db, actor, image_id)
    meta, stats = image_metadata(db, image, _pixels(db, image, "image"))
    _keep(db, actor, image_id, defaults_from(meta, stats))
    db.commit()
    return rendering(db, actor, image_id)


@dataclass(frozen=True)
class BatchResult:
    """What a batch did: the images changed, and the expected failures by input index."""

    done: list[Rendering]
    errors: list[DomainError]


def _fitted(settings: RenderSettings, meta: meta_model.ImageMetadata) -> RenderSettings:
    """``settings`` for another image: the same channels, z/t kept when they exist there."""
    if len(settings.channels) != meta.size_c:
        raise InvalidRenderSettings(f"{len(settings.channels)} channels in the settings, "
                                    f"{meta.size_c} in the image")
    fitted = replace(settings, z=settings.z if settings.z < meta.size_z else meta.size_z // 2,
                     t=settings.t if settings.t < meta.size_t else 0)
    check_fits(fitted, meta)
    return fitted


def copy(db: Session, actor: Actor, source_id: int, target_ids: Sequence[int]) -> BatchResult:
    """The settings the actor sees on ``source_id`` saved as theirs on every target that fits;
    the others are reported (field ``to.<index>``) and left alone."""
    settings = rendering(db, actor, source_id, "from").settings

    def fitted(image: Any, meta: Any, _stats: Any) -> RenderSettings:
        try:
            return _fitted(settings, meta)
        except InvalidRenderSettings as exc:
            raise Invalid(str(exc)) from exc

    return _save_each(db, actor, target_ids, "to", fitted)


def apply_owners(db: Session, actor: Actor, image_ids: Sequence[int]) -> BatchResult:
    """Each image's owner's settings (or the defaults) saved as the actor's own."""

    def owners(image: Any, meta: Any, stats: Any) -> RenderSettings:
        defaults = defaults_from(meta, stats)
        return _stored(db, image, meta, defaults, image.owner_id) or defaults

    return _save_each(db, actor, image_ids, "images", owners)


def _save_each(db: Session, actor: Actor, image_ids: Sequence[int], field: str,
               choose: Callable[[Any, Any, Any], RenderSettings]) -> BatchResult:
    """Save ``choose(image, meta, stats)`` as the actor's settings of each image; an image
    that fails is reported with field ``<field>.<index>`` and the others go on."""
    done: list[int] = []
    errors: list[DomainError] = []
    for index, image_id in enumerate(image_ids):
        at = f"{field}.{index}"
        try:
            image = _visible_image(db, actor, image_id, at)
            meta, stats = image_metadata(db, image, _pixels(db, image, at))
            chosen = choose(image, meta, stats)
        except DomainError as exc:
            exc.field = exc.field or at
            errors.append(exc)
            continue
        _keep(db, actor, image_id, chosen)
        done.append(image_id)
    db.commit()
    return BatchResult([rendering(db, actor, image_id) for image_id in done], errors)


def render_scope(image_id: int, source: str) -> str:
    """What a rendering URL's signature covers: one image read from one pixel source, so
    one signature serves every tile and region of it (the settings ride along unsigned:
    they are the viewer's to change, as OMERO.web's query parameters are)."""
    return f"/render/{image_id}\n{source}"
