"""Every model in one namespace, and the registry from GraphQL type name to model."""

from store.accounts import (
    AuthSession,
    Experimenter,
    ExperimenterGroup,
    GroupMembership,
    PermissionLevel,
)
from store.annotations import (
    ANNOTATABLE,
    ANNOTATION_LINKS,
    Annotation,
    AnnotationKind,
    AnnotationLink,
    MapValue,
)
from store.base import Base, Owned
from store.containers import (
    CONTAINER_LINKS,
    Dataset,
    DatasetImageLink,
    Fileset,
    Image,
    Plate,
    Project,
    ProjectDatasetLink,
    Screen,
    ScreenPlateLink,
    Well,
    WellSample,
)
from store.dropbox import DropboxFile, DropboxState
from store.imports import ImportFile, ImportFileState
from store.jobs import Job, JobState
from store.pixels import Channel, OriginalFile, Pixels, PyramidState
from store.rendering import RenderingSettings
from store.rois import Roi, Shape, ShapeKind
from store.security import ApiToken, AuditEvent, LoginFailure, Privilege

OWNED_MODELS: dict[str, type[Owned]] = {
    model.kind: model
    for model in (
        Project, Dataset, Image, Screen, Plate, Well, WellSample, Fileset, OriginalFile,
        Pixels, Channel, Annotation, Roi, Shape, Job, ImportFile,
    )
}

__all__ = [
    "ANNOTATABLE",
    "ANNOTATION_LINKS",
    "CONTAINER_LINKS",
    "OWNED_MODELS",
    "Annotation",
    "AnnotationKind",
    "AnnotationLink",
    "ApiToken",
    "AuditEvent",
    "AuthSession",
    "Base",
    "Channel",
    "Dataset",
    "DatasetImageLink",
    "DropboxFile",
    "DropboxState",
    "Experimenter",
    "ExperimenterGroup",
    "Fileset",
    "GroupMembership",
    "Image",
    "ImportFile",
    "ImportFileState",
    "Job",
    "JobState",
    "LoginFailure",
    "MapValue",
    "OriginalFile",
    "Owned",
    "PermissionLevel",
    "Pixels",
    "Plate",
    "Privilege",
    "Project",
    "ProjectDatasetLink",
    "PyramidState",
    "RenderingSettings",
    "Roi",
    "Screen",
    "ScreenPlateLink",
    "Shape",
    "ShapeKind",
    "Well",
    "WellSample",
]
