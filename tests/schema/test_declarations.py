"""Every mutation and query field declares who may call it."""

from __future__ import annotations

from typing import Any

from omegraph.settings import load_settings
from schema.build import build_schema
from schema.permissions import CanWrite, IsAdmin, IsAuthenticated, Public


def _fields(type_name: str) -> dict[str, Any]:
    schema = build_schema(load_settings({}))
    definition: Any = schema.get_type_by_name(type_name)
    return {field.python_name: field for field in definition.fields}


def test_every_mutation_declares_its_permission() -> None:
    mutations = _fields("Mutation")
    assert len(mutations) > 20
    for name, field in mutations.items():
        declared = set(field.permission_classes)
        assert declared & {Public, CanWrite, IsAdmin}, name
        # Read-only API tokens must not reach any mutation: IsAuthenticated alone is not enough.
        assert IsAuthenticated not in declared, name
    public = [name for name, field in mutations.items() if Public in field.permission_classes]
    admin_only = {name for name, field in mutations.items() if IsAdmin in field.permission_classes}
    assert public == ["login"]
    assert admin_only == {"create_user", "create_group"}


def test_every_query_field_requires_a_login() -> None:
    for name, field in _fields("Query").items():
        declared = set(field.permission_classes)
        assert declared & {IsAuthenticated, IsAdmin}, name
