"""Admins manage users and groups; group owners manage their group's members."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Experimenter, GroupMembership
from tests.graphql_client import GraphQLClient
from tests.world import World

CREATE_GROUP = """mutation($name: String!, $perms: PermissionLevel!) {
  createGroup(input: {name: $name, permissions: $perms}) {
    __typename ... on GroupPayload { group { id name permissions permissionString } }
    ... on Error { code message field } } }"""
CREATE_USER = """mutation($name: String!, $groups: [ID!]!) {
  createUser(input: {username: $name, password: "a long enough password", groups: $groups}) {
    __typename ... on UserPayload { user { id username defaultGroup { name } } }
    ... on Error { code message field } } }"""
ADD_MEMBER = """mutation($g: ID!, $u: ID!, $owner: Boolean!) {
  addGroupMember(group: $g, user: $u, owner: $owner) {
    __typename ... on MembershipPayload { membership { isOwner experimenter { username } } }
    ... on Error { code message field } } }"""
UPDATE_GROUP = """mutation($g: ID!, $perms: PermissionLevel) {
  updateGroup(input: {id: $g, permissions: $perms}) {
    __typename ... on GroupPayload { group { permissionString } }
    ... on Error { code message field } } }"""


def test_admin_creates_groups_and_users(api: GraphQLClient, world: World, db: Session) -> None:
    admin = world.user("root", admin=True)
    token = world.token(admin)

    group = api.data(CREATE_GROUP, token, name="lab", perms="READ_ANNOTATE")["createGroup"]
    assert group["group"]["permissionString"] == "rwra--"
    user = api.data(CREATE_USER, token, name="alice", groups=[group["group"]["id"]])["createUser"]
    assert user["user"]["defaultGroup"] == {"name": "lab"}

    duplicate = api.data(CREATE_USER, token, name="alice", groups=[])["createUser"]
    assert duplicate["__typename"] == "ConflictError" and duplicate["field"] == "username"
    bad_name = api.data(CREATE_USER, token, name="../etc", groups=[])["createUser"]
    assert bad_name["__typename"] == "ValidationError"
    assert db.scalar(select(Experimenter).where(Experimenter.username == "../etc")) is None


def test_non_admins_cannot_create_users_or_groups(api: GraphQLClient, world: World) -> None:
    token = world.token(world.user("alice", world.group("lab")))
    errors = api.errors(CREATE_GROUP, token, name="mine", perms="READ_WRITE")
    assert errors[0]["extensions"]["code"] == "PERMISSION_DENIED"


def test_group_owner_manages_members_but_cannot_lower_permissions(
        api: GraphQLClient, world: World, db: Session) -> None:
    lab = world.group("lab", "rwr---")
    pi = world.user("pi", owner_of=(lab,))
    student = world.user("student")
    outsider = world.user("outsider", world.group("other"))
    g, u = f"Group:{lab.id}", f"Experimenter:{student.id}"

    denied = api.data(ADD_MEMBER, world.token(outsider), g=g, u=u, owner=False)
    assert denied["addGroupMember"]["__typename"] == "PermissionDeniedError"
    assert db.get(GroupMembership, (student.id, lab.id)) is None

    token = world.token(pi)
    added = api.data(ADD_MEMBER, token, g=g, u=u, owner=False)["addGroupMember"]
    assert added["membership"] == {"isOwner": False, "experimenter": {"username": "student"}}

    raised = api.data(UPDATE_GROUP, token, g=g, perms="READ_ANNOTATE")["updateGroup"]
    assert raised["group"]["permissionString"] == "rwra--"
    lowered = api.data(UPDATE_GROUP, token, g=g, perms="PRIVATE")["updateGroup"]
    assert lowered["__typename"] == "PermissionDeniedError"
    db.refresh(lab)
    assert lab.permissions == "rwra--"
