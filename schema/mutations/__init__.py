"""Mutation roots, merged into one Mutation type."""

from strawberry.tools import merge_types

from schema.mutations.accounts import AccountMutations
from schema.mutations.annotations import AnnotationMutations
from schema.mutations.imports import ImportMutations
from schema.mutations.objects import ObjectMutations
from schema.mutations.rendering import RenderingMutations
from schema.mutations.security import SecurityMutations

Mutation = merge_types(
    "Mutation", (AccountMutations, ObjectMutations, AnnotationMutations, SecurityMutations,
                 ImportMutations, RenderingMutations))
