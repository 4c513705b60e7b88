"""Unexpected errors are logged with their traceback and masked for the client."""

from __future__ import annotations

import logging

import pytest

from resolvers import containers
from tests.graphql_client import GraphQLClient
from tests.world import World

CREATE = """mutation { createProject(input: {name: "p"}) {
  __typename ... on Error { code message } } }"""


def test_unexpected_errors_are_masked_and_logged(api: GraphQLClient, world: World,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    token = world.token(world.user("alice", world.group("lab")))

    def broken(*_args: object) -> None:
        raise RuntimeError("connection to db:5432 failed, password hunter2")

    monkeypatch.setattr(containers, "create_container", broken)
    with caplog.at_level(logging.ERROR, logger="omegraph.graphql"):
        body = api.execute(CREATE, token)

    assert body["data"] is None
    assert body["errors"][0]["message"] == "Unexpected error; it has been logged."
    assert "hunter2" not in str(body)
    logged = [r for r in caplog.records if r.name == "omegraph.graphql"]
    assert len(logged) == 1
    assert logged[0].exc_info is not None and logged[0].exc_info[0] is RuntimeError


def test_expected_errors_are_not_logged(api: GraphQLClient, world: World,
                                        caplog: pytest.LogCaptureFixture) -> None:
    token = world.token(world.user("alice", world.group("lab")))
    with caplog.at_level(logging.DEBUG):
        errors = api.errors('{ node(id: "Nope:1") { id } }', token)
    assert errors[0]["extensions"] == {"code": "INVALID", "field": "id"}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_people_see_members_of_their_shared_groups_only(api: GraphQLClient,
                                                        world: World) -> None:
    shared, private, elsewhere = (world.group("shared", "rwr---"),
                                  world.group("private", "rw----"), world.group("other"))
    alice = world.user("alice", shared, private)
    world.user("bob", shared)
    world.user("carol", private)
    world.user("dave", elsewhere)

    names = [e["username"] for e in api.data("{ experimenters { username } }",
                                             world.token(alice))["experimenters"]]
    groups = [g["name"] for g in api.data("{ groups { name } }",
                                          world.token(alice))["groups"]]
    assert names == ["alice", "bob"]
    assert groups == ["shared", "private"]
