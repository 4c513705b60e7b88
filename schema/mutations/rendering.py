"""Rendering settings: save, reset, copy, and take the owner's."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from resolvers import rendering
from resolvers.ids import parse_typed_id
from schema.context import Info
from schema.errors import Error, result_union, to_error
from schema.mutations.base import USER, check_list, guarded, perform
from schema.rendering import Rendering


@strawberry.type
class RenderingPayload:
    rendering: Rendering


@strawberry.type(description="A batch: the images whose settings were saved, and why the "
                             "others were not (field: the input position, e.g. to.2).")
class RenderingBatchPayload:
    renderings: list[Rendering]
    errors: list[Error]


def _payload(value: rendering.Rendering) -> RenderingPayload:
    return RenderingPayload(rendering=Rendering(value=value))


def _batch(result: rendering.BatchResult) -> RenderingBatchPayload:
    return RenderingBatchPayload(renderings=[Rendering(value=v) for v in result.done],
                                 errors=[to_error(exc) for exc in result.errors])


def _image_ids(values: list[strawberry.ID], field: str) -> list[int]:
    return [parse_typed_id(value, "Image", f"{field}.{i}") for i, value in enumerate(values)]


SaveResult = result_union("SaveRenderingSettingsResult", RenderingPayload)
ResetResult = result_union("ResetRenderingSettingsResult", RenderingPayload)
CopyResult = result_union("CopyRenderingSettingsResult", RenderingBatchPayload)
ApplyOwnersResult = result_union("ApplyOwnersRenderingSettingsResult", RenderingBatchPayload)


@strawberry.type
class RenderingMutations:
    @strawberry.mutation(permission_classes=USER, description=(
        "Keep your own rendering of an image: OMERO.web's query (c=1|100:500$FF0000,-2&m=c"
        "&p=intmax&z=&t=) applied to the settings you see now. Viewing the image suffices."))
    async def save_rendering_settings(self, info: Info, image: strawberry.ID, query: str
                                      ) -> SaveResult:  # type: ignore[valid-type]
        async def run() -> Any:
            image_id = parse_typed_id(image, "Image", "image")
            return await perform(info, _payload, rendering.save, image_id, query)

        return await guarded(run())  # type: ignore[no-any-return]

    @strawberry.mutation(permission_classes=USER,
                         description="Set your own rendering of an image to the import defaults.")
    async def reset_rendering_settings(self, info: Info, image: strawberry.ID
                                       ) -> ResetResult:  # type: ignore[valid-type]
        async def run() -> Any:
            image_id = parse_typed_id(image, "Image", "image")
            return await perform(info, _payload, rendering.reset, image_id)

        return await guarded(run())  # type: ignore[no-any-return]

    @strawberry.mutation(permission_classes=USER, description=(
        "Save the settings you see on one image as yours on others; images with another "
        "channel count (or that you cannot see) are reported in errors and left alone."))
    async def copy_rendering_settings(
            self, info: Info,
            from_: Annotated[strawberry.ID, strawberry.argument(name="from")],
            to: list[strawberry.ID]) -> CopyResult:  # type: ignore[valid-type]
        async def run() -> Any:
            check_list(info, to, "to")
            source = parse_typed_id(from_, "Image", "from")
            return await perform(info, _batch, rendering.copy, source, _image_ids(to, "to"))

        return await guarded(run())  # type: ignore[no-any-return]

    @strawberry.mutation(permission_classes=USER,
                         description="Save each image's owner's settings as your own.")
    async def apply_owners_rendering_settings(
            self, info: Info, images: list[strawberry.ID]
    ) -> ApplyOwnersResult:  # type: ignore[valid-type]
        async def run() -> Any:
            check_list(info, images, "images")
            return await perform(info, _batch, rendering.apply_owners, _image_ids(images, "images"))

        return await guarded(run())  # type: ignore[no-any-return]
