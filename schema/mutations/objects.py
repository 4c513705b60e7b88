"""Create, update, delete, link, unlink and move containers; ROIs."""

from __future__ import annotations

from typing import Any

import strawberry

from resolvers import containers, deletion, ownership, rois
from resolvers.ids import parse_typed_id
from resolvers.rois import ShapeValue
from schema.base import Node
from schema.context import Info
from schema.errors import result_union
from schema.mutations.base import USER, check_list, guarded, perform
from schema.ome import Dataset, Plate, Project, Roi, Screen, Shape, ShapeKind
from schema.scalars import Bytes
from store import models


@strawberry.input
class CreateContainerInput:
    name: str
    description: str | None = None
    group: strawberry.ID | None = strawberry.field(
        default=None, description="Group for the new object; default: your default group.")


@strawberry.input
class UpdateInput:
    id: strawberry.ID
    name: str | None = None
    description: str | None = None


@strawberry.type
class ProjectPayload:
    project: Project


@strawberry.type
class DatasetPayload:
    dataset: Dataset


@strawberry.type
class ScreenPayload:
    screen: Screen


@strawberry.type
class PlatePayload:
    plate: Plate


@strawberry.type
class UpdatePayload:
    node: Node


@strawberry.type
class NodesPayload:
    nodes: list[Node]


@strawberry.type
class DeletePayload:
    deleted_ids: list[strawberry.ID]


@strawberry.type
class LinkPayload:
    parent: Node
    child: Node


@strawberry.input
class ShapeInput:
    kind: ShapeKind  # type: ignore[valid-type]
    the_z: int | None = None
    the_t: int | None = None
    the_c: int | None = None
    stroke_color: int | None = None
    fill_color: int | None = None
    stroke_width: float | None = None
    text: str | None = None
    x: float | None = None
    y: float | None = None
    width: float | None = None
    height: float | None = None
    radius_x: float | None = None
    radius_y: float | None = None
    x2: float | None = None
    y2: float | None = None
    points: str | None = None
    mask: Bytes | None = strawberry.field(
        default=None,
        description="Mask bits, row-major, one bit per pixel of the x/y/width/height box.")


@strawberry.type
class RoiPayload:
    roi: Roi


@strawberry.type
class ShapePayload:
    shape: Shape


def _shape_value(shape: ShapeInput) -> ShapeValue:
    values = {name: getattr(shape, name) for name in ShapeValue.__dataclass_fields__}
    values["kind"] = models.ShapeKind(shape.kind)
    return ShapeValue(**values)


def _pair(objects: tuple[Any, Any]) -> LinkPayload:
    return LinkPayload(parent=objects[0], child=objects[1])


def _group(value: strawberry.ID | None) -> int | None:
    return parse_typed_id(value, "Group", "group") if value else None


async def _create(info: Info, kind: str, data: CreateContainerInput, wrap: Any) -> Any:
    async def run() -> Any:
        return await perform(info, wrap, containers.create_container, kind, data.name,
                             data.description, _group(data.group))

    return await guarded(run())


@strawberry.type
class ObjectMutations:
    @strawberry.mutation(permission_classes=USER)
    async def create_project(self, info: Info, input: CreateContainerInput
                             ) -> result_union("CreateProjectResult", ProjectPayload):  # type: ignore[valid-type]
        return await _create(info, "Project", input, lambda o: ProjectPayload(project=o))

    @strawberry.mutation(permission_classes=USER)
    async def create_dataset(self, info: Info, input: CreateContainerInput
                             ) -> result_union("CreateDatasetResult", DatasetPayload):  # type: ignore[valid-type]
        return await _create(info, "Dataset", input, lambda o: DatasetPayload(dataset=o))

    @strawberry.mutation(permission_classes=USER)
    async def create_screen(self, info: Info, input: CreateContainerInput
                            ) -> result_union("CreateScreenResult", ScreenPayload):  # type: ignore[valid-type]
        return await _create(info, "Screen", input, lambda o: ScreenPayload(screen=o))

    @strawberry.mutation(permission_classes=USER)
    async def create_plate(self, info: Info, input: CreateContainerInput
                           ) -> result_union("CreatePlateResult", PlatePayload):  # type: ignore[valid-type]
        return await _create(info, "Plate", input, lambda o: PlatePayload(plate=o))

    @strawberry.mutation(permission_classes=USER, description="Rename or re-describe an object.")
    async def update(self, info: Info, input: UpdateInput
                     ) -> result_union("UpdateResult", UpdatePayload):  # type: ignore[valid-type]
        return await perform(info, lambda o: UpdatePayload(node=o), containers.update_named,
                             input.id, input.name, input.description)

    @strawberry.mutation(permission_classes=USER,
                         description="Delete objects, all or nothing; their links, pixels, ROIs "
                                     "and annotation links go too. With includeChildren, also "
                                     "the datasets, images and plates that no other container "
                                     "holds.")
    async def delete(self, info: Info, ids: list[strawberry.ID], include_children: bool = False
                     ) -> result_union("DeleteResult", DeletePayload):  # type: ignore[valid-type]
        async def run() -> Any:
            check_list(info, ids, "ids")
            return await perform(info, lambda d: DeletePayload(deleted_ids=d),
                                 deletion.delete_objects, ids, include_children)

        return await guarded(run())

    @strawberry.mutation(permission_classes=USER,
                         description="Give objects to another member of their group "
                                     "(change_ownership privilege).")
    async def change_owner(self, info: Info, ids: list[strawberry.ID], owner: strawberry.ID
                           ) -> result_union("ChangeOwnerResult", NodesPayload):  # type: ignore[valid-type]
        async def run() -> Any:
            check_list(info, ids, "ids")
            owner_id = parse_typed_id(owner, "Experimenter", "owner")
            return await perform(info, lambda nodes: NodesPayload(nodes=nodes),
                                 ownership.change_owner, ids, owner_id)

        return await guarded(run())

    @strawberry.mutation(permission_classes=USER,
                         description="Put a Dataset in a Project, an Image in a Dataset, "
                                     "a Plate in a Screen.")
    async def link(self, info: Info, parent: strawberry.ID, child: strawberry.ID
                   ) -> result_union("LinkResult", LinkPayload):  # type: ignore[valid-type]
        return await perform(info, _pair, containers.link,
                             parent, child)

    @strawberry.mutation(permission_classes=USER)
    async def unlink(self, info: Info, parent: strawberry.ID, child: strawberry.ID
                     ) -> result_union("UnlinkResult", LinkPayload):  # type: ignore[valid-type]
        return await perform(info, _pair, containers.unlink,
                             parent, child)

    @strawberry.mutation(permission_classes=USER,
                         description="Move a child from one container to another.")
    async def move(self, info: Info, child: strawberry.ID, from_parent: strawberry.ID,
                   to_parent: strawberry.ID
                   ) -> result_union("MoveResult", LinkPayload):  # type: ignore[valid-type]
        return await perform(info, _pair, containers.move,
                             child, from_parent, to_parent)

    @strawberry.mutation(permission_classes=USER)
    async def create_roi(self, info: Info, image: strawberry.ID, shapes: list[ShapeInput],
                         name: str | None = None, description: str | None = None
                         ) -> result_union("CreateRoiResult", RoiPayload):  # type: ignore[valid-type]
        return await perform(info, lambda r: RoiPayload(roi=r), rois.create_roi, image, name,
                             description, [_shape_value(s) for s in shapes])

    @strawberry.mutation(permission_classes=USER)
    async def add_shapes(self, info: Info, roi: strawberry.ID, shapes: list[ShapeInput]
                         ) -> result_union("AddShapesResult", RoiPayload):  # type: ignore[valid-type]
        return await perform(info, lambda r: RoiPayload(roi=r), rois.add_shapes, roi,
                             [_shape_value(s) for s in shapes])

    @strawberry.mutation(permission_classes=USER)
    async def update_shape(self, info: Info, id: strawberry.ID, shape: ShapeInput
                           ) -> result_union("UpdateShapeResult", ShapePayload):  # type: ignore[valid-type]
        return await perform(info, lambda s: ShapePayload(shape=s), rois.replace_shape, id,
                             _shape_value(shape))

