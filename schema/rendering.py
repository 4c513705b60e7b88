"""How an image is drawn: ``Image.rendering`` and the rendering settings mutations."""

from __future__ import annotations

from urllib.parse import parse_qsl

import strawberry

from engine.render import format_query, query_of
from engine.render.settings import format_color
from resolvers import rendering
from resolvers.errors import Invalid
from resolvers.ids import format_id
from resolvers.rendering import render_scope
from schema.context import Info

TILE_SIZES = (256, 512)
THUMBNAIL_SIZES = range(16, 1025)


@strawberry.type(description="One channel's rendering: window in pixel units, colour or LUT.")
class RenderingChannel:
    index: int
    active: bool
    start: float
    end: float
    color: str = strawberry.field(description="RRGGBB hex (RRGGBBAA when not opaque).")
    lut: str | None
    family: str = strawberry.field(description="linear, polynomial, exponential, logarithmic.")
    coefficient: float
    reverse: bool
    noise_reduction: bool


@strawberry.type(description="Rendering settings of one image.")
class RenderingSettings:
    channels: list[RenderingChannel]
    model: str = strawberry.field(description="color or greyscale.")
    z: int
    t: int
    projection: str = strawberry.field(description="OMERO.web's p: normal, intmax, intmean, "
                                                   "intsum, with an optional |start:end.")
    query: str = strawberry.field(description="The whole settings as OMERO.web's query "
                                              "parameters (c, maps, m, p, z, t).")


@strawberry.type(description="What a tiled viewer (OpenSeadragon, OpenLayers) needs.")
class TileSource:
    tile_size: int
    levels: list[list[int]] = strawberry.field(
        description="[[sizeX, sizeY], ...] from full resolution down.")
    url_template: str = strawberry.field(
        description="A signed URL with {level}, {col} and {row} to fill in; it carries the "
                    "settings, which OMERO.web parameters added to it override.")


def _settings_type(value: rendering.Rendering) -> RenderingSettings:
    settings = value.settings
    query = query_of(settings)
    return RenderingSettings(
        channels=[RenderingChannel(
            index=c, active=ch.active, start=ch.start, end=ch.end, color=format_color(ch.color),
            lut=ch.lut, family=ch.family, coefficient=ch.coefficient, reverse=ch.reverse,
            noise_reduction=ch.noise_reduction) for c, ch in enumerate(settings.channels)],
        model=settings.model, z=settings.z, t=settings.t, projection=query["p"],
        query=format_query(query))


@strawberry.type(description="How the viewer sees an image and where to fetch it rendered.")
class Rendering:
    value: strawberry.Private[rendering.Rendering]

    @strawberry.field
    def image_id(self) -> strawberry.ID:
        return strawberry.ID(format_id("Image", self.value.image_id))

    @strawberry.field(description="True when these are the viewer's own saved settings; "
                                  "else the owner's, or the import defaults.")
    def is_own(self) -> bool:
        return self.value.is_own

    @strawberry.field(description="The settings in effect for the viewer.")
    def settings(self) -> RenderingSettings:
        return _settings_type(self.value)

    def _query(self, info: Info) -> dict[str, str]:
        """The settings, the pixel source and a signature over image and source."""
        signer = info.context.signer
        assert signer is not None, "the app sets a signer"
        token = self.value.source.token()
        signed = signer.sign(render_scope(self.value.image_id, token), self.value.user_id)
        return {**query_of(self.value.settings), "src": token,
                **dict(parse_qsl(signed.rpartition("?")[2]))}

    @strawberry.field(description="Signed tile URLs of the image rendered with these settings.")
    def tile_source(self, info: Info, size: int = 256) -> TileSource:
        if size not in TILE_SIZES:
            raise Invalid(f"size must be one of {', '.join(map(str, TILE_SIZES))}", "size")
        query = format_query({"size": str(size), **self._query(info)})
        template = f"/tiles/{self.value.image_id}/{{level}}/{{col}}/{{row}}.jpg?{query}"
        return TileSource(tile_size=size, levels=[list(level) for level in self.value.levels],
                          url_template=template)

    @strawberry.field(description="A signed URL of the whole image rendered with these "
                                  "settings, its longest side ``size`` pixels (JPEG).")
    def thumbnail_url(self, info: Info, size: int = 96) -> str:
        if size not in THUMBNAIL_SIZES:
            raise Invalid("size must be 16..1024", "size")
        levels = self.value.levels
        # The smallest level still at least ``size`` on its longest side.
        level = max((i for i, (w, h) in enumerate(levels) if max(w, h) >= size), default=0)
        width, height = levels[level]
        out = max(1, min(width, round(size * width / max(width, height))))
        query = format_query({"level": str(level), "width": str(out), **self._query(info)})
        return f"/regions/{self.value.image_id}.jpg?{query}"


async def image_rendering(info: Info, image_id: int) -> Rendering | None:
    """``Image.rendering``: None while the image has no pixels."""
    try:
        value = await info.context.db.run(rendering.rendering, info.context.actor, image_id)
    except rendering.NoPixels:
        return None
    return Rendering(value=value)
