"""Throttling, API tokens, sessions, restricted admins, sudo, audit trail and CORS."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from omegraph.app import create_app
from omegraph.settings import Settings, load_settings
from resolvers.passwords import hash_password
from resolvers.sessions import token_digest
from store.models import ApiToken, AuditEvent, Project
from tests.graphql_client import GraphQLClient
from tests.world import World

PASSWORD = "correct horse battery"
LOGIN = """mutation($u: String!, $p: String!) { login(username: $u, password: $p) {
  __typename ... on LoginPayload { token }
  ... on ThrottledError { retryAfter message } ... on Error { code message } } }"""


def _client(settings: Settings, engine: Engine, factory: sessionmaker[Session],
            address: str) -> TestClient:
    app = create_app(settings, engine=engine, factory=factory)
    return TestClient(app, client=(address, 50000))


@pytest.fixture
def clients(settings: Settings, engine: Engine, factory: sessionmaker[Session]
            ) -> Iterator[dict[str, GraphQLClient]]:
    made = {name: _client(settings, engine, factory, address)
            for name, address in (("home", "10.0.0.1"), ("attacker", "10.6.6.6"))}
    for client in made.values():
        client.__enter__()
    yield {name: GraphQLClient(client) for name, client in made.items()}
    for client in made.values():
        client.__exit__(None, None, None)


def _login(api: GraphQLClient, name: str, password: str) -> dict[str, Any]:
    result: dict[str, Any] = api.data(LOGIN, u=name, p=password)["login"]
    api.client.cookies.clear()
    return result


def _local_user(world: World, name: str, **kw: Any) -> Any:
    user = world.user(name, world.group(f"{name}-lab"), **kw)
    user.password_hash = hash_password(PASSWORD)
    world.db.commit()
    return user


def test_throttling_slows_attackers_without_locking_the_owner_out(
        clients: dict[str, GraphQLClient], world: World) -> None:
    _local_user(world, "alice")
    attacker, home = clients["attacker"], clients["home"]
    for _ in range(5):
        assert _login(attacker, "alice", "guess")["__typename"] == "AuthenticationError"
    throttled = _login(attacker, "alice", PASSWORD)  # even the right password waits
    assert throttled["__typename"] == "ThrottledError"
    assert 0 < throttled["retryAfter"] <= 900
    assert f"{throttled['retryAfter']} seconds" in throttled["message"]
    # The owner, from elsewhere, is not locked out by the attacker's failures.
    assert _login(home, "alice", PASSWORD)["__typename"] == "LoginPayload"


def test_an_account_attacked_from_everywhere_still_accepts_one_try_per_interval(
        settings: Settings, engine: Engine, factory: sessionmaker[Session],
        world: World) -> None:
    _local_user(world, "bob")
    for i in range(20):  # 20 addresses, one failure each
        with _client(settings, engine, factory, f"10.1.0.{i}") as client:
            assert _login(GraphQLClient(client), "bob", "guess")["__typename"] == \
                "AuthenticationError"
    with _client(settings, engine, factory, "10.2.0.1") as client:
        slowed = _login(GraphQLClient(client), "bob", PASSWORD)
    assert slowed["__typename"] == "ThrottledError"
    assert slowed["retryAfter"] <= 30


def test_api_tokens_are_scoped_expiring_revocable_and_hashed(
        api: GraphQLClient, world: World, db: Session) -> None:
    alice = world.user("alice", world.group("lab"))
    session = world.token(alice)
    create = """mutation($ro: Boolean!, $days: Int) {
      createApiToken(name: "pipeline", readOnly: $ro, expiresInDays: $days) {
        __typename ... on ApiTokenPayload { token apiToken { id name readOnly expires } }
        ... on Error { code message field } } }"""
    read_only = api.data(create, session, ro=True, days=30)["createApiToken"]
    writer = api.data(create, session, ro=False, days=None)["createApiToken"]
    raw = read_only["token"]
    assert raw.startswith("ogt_")
    stored = db.scalars(select(ApiToken.token_hash)).all()
    assert token_digest(raw) in stored and raw not in stored

    assert api.data("{ me { username } }", raw)["me"]["username"] == "alice"
    refused = api.errors('mutation { createProject(input: {name: "x"}) { __typename } }', raw)
    assert refused[0]["message"] == "this API token is read-only"
    made = api.data('mutation { createProject(input: {name: "x"}) { __typename } }',
                    writer["token"])
    assert made["createProject"]["__typename"] == "ProjectPayload"

    listed = api.data("{ apiTokens { name readOnly revoked } }", session)["apiTokens"]
    assert listed == [{"name": "pipeline", "readOnly": True, "revoked": False},
                      {"name": "pipeline", "readOnly": False, "revoked": False}]
    bad_days = api.data(create, session, ro=True, days=10_000)["createApiToken"]
    assert bad_days["__typename"] == "ValidationError"

    revoke = 'mutation($id: ID!) { revokeApiToken(id: $id) { __typename } }'
    api.data(revoke, session, id=read_only["apiToken"]["id"])
    after = api.client.post("/graphql", json={"query": "{ me { username } }"},
                            headers={"Authorization": f"Bearer {raw}"})
    assert after.status_code == 401
    token = db.scalars(select(ApiToken).where(ApiToken.read_only.is_(False))).one()
    token.expires = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db.commit()
    expired = api.client.post("/graphql", json={"query": "{ me { username } }"},
                              headers={"Authorization": f"Bearer {writer['token']}"})
    assert expired.status_code == 401 and "expired" in expired.text


def test_sessions_are_listed_and_revoked_by_their_owner_or_an_admin(
        api: GraphQLClient, world: World) -> None:
    alice, bob = world.user("alice", world.group("a")), world.user("bob", world.group("b"))
    root = world.user("root", admin=True)
    first, second, bobs = world.token(alice), world.token(alice), world.token(bob)
    mine = api.data("{ sessions { id } }", first)["sessions"]
    assert len(mine) == 2
    revoke = 'mutation($id: ID!) { revokeSession(id: $id) { __typename } }'
    bob_session = api.data("{ sessions { id } }", bobs)["sessions"][0]["id"]
    assert api.data(revoke, first, id=bob_session)["revokeSession"]["__typename"] == \
        "NotFoundError"
    assert api.data(revoke, world.token(root), id=bob_session)["revokeSession"][
        "__typename"] == "SessionPayload"
    assert api.client.post("/graphql", json={"query": "{ me { id } }"},
                           headers={"Authorization": f"Bearer {bobs}"}).status_code == 401
    assert api.data("{ me { username } }", second)["me"]["username"] == "alice"


SET_PRIVILEGES = """mutation($u: ID!, $p: [Privilege!]!) { setPrivileges(user: $u, privileges: $p) {
  __typename ... on UserPayload { user { privileges } } ... on Error { code message } } }"""


def test_nobody_grants_privileges_they_do_not_hold(api: GraphQLClient, world: World) -> None:
    lab = world.group("lab")
    root = world.user("root", admin=True)
    alice, bob = world.user("alice", lab), world.user("bob", lab)
    as_root, as_alice = world.token(root), world.token(alice)
    granted = api.data(SET_PRIVILEGES, as_root, u=f"Experimenter:{alice.id}",
                       p=["MANAGE_USERS", "SUDO"])["setPrivileges"]
    assert granted["user"]["privileges"] == ["MANAGE_USERS", "SUDO"]

    too_much = api.data(SET_PRIVILEGES, as_alice, u=f"Experimenter:{bob.id}",
                        p=["SUDO", "DELETE_OTHERS_DATA"])["setPrivileges"]
    assert too_much["__typename"] == "PermissionDeniedError"
    assert "delete_others_data" in too_much["message"]
    fine = api.data(SET_PRIVILEGES, as_alice, u=f"Experimenter:{bob.id}", p=["SUDO"])
    assert fine["setPrivileges"]["user"]["privileges"] == ["SUDO"]
    on_root = api.data(SET_PRIVILEGES, as_alice, u=f"Experimenter:{root.id}", p=[])
    assert on_root["setPrivileges"]["__typename"] == "ValidationError"
    reset_root = api.data("""mutation($u: ID!) { changePassword(user: $u,
        newPassword: "taken over!") { __typename } }""", as_alice, u=f"Experimenter:{root.id}")
    assert reset_root["changePassword"]["__typename"] == "PermissionDeniedError"


def test_restricted_admins_see_everything_but_write_only_with_the_privilege(
        api: GraphQLClient, world: World) -> None:
    private = world.group("private", "rw----")
    owner = world.user("owner", private)
    project = world.add(Project, owner, private, name="secret")
    staff = world.user("staff")
    staff.privileges = ["manage_users"]
    world.db.commit()
    token = world.token(staff)
    gid = f"Project:{project.id}"
    assert api.data("query($id: ID!) { node(id: $id) { id } }", token, id=gid)["node"]
    rename = """mutation($id: ID!) { update(input: {id: $id, name: "renamed"}) {
      __typename } }"""
    assert api.data(rename, token, id=gid)["update"]["__typename"] == "PermissionDeniedError"
    staff.privileges = ["write_others_data"]
    world.db.commit()
    assert api.data(rename, world.token(staff), id=gid)["update"]["__typename"] == \
        "UpdatePayload"


SUDO = """mutation($u: String!) { sudo(username: $u) {
  __typename ... on LoginPayload { token user { username } } ... on Error { code message } } }"""


def test_sudo_acts_as_the_user_and_audits_both_identities(
        api: GraphQLClient, world: World, db: Session) -> None:
    lab = world.group("lab")
    staff, bob = world.user("staff", lab), world.user("bob", lab)
    root = world.user("root", admin=True)
    staff.privileges = ["sudo"]
    world.db.commit()
    as_staff = world.token(staff)
    assert api.data(SUDO, as_staff, u="root")["sudo"]["__typename"] == "PermissionDeniedError"
    result = api.data(SUDO, as_staff, u="bob")["sudo"]
    assert result["user"]["username"] == "bob"
    as_bob = result["token"]
    assert api.data("{ me { username } }", as_bob)["me"]["username"] == "bob"
    assert api.data(SUDO, as_bob, u="staff")["sudo"]["__typename"] == "PermissionDeniedError"
    api.data('mutation { createProject(input: {name: "by sudo"}) { __typename } }', as_bob)
    project = db.scalars(select(Project).where(Project.name == "by sudo")).one()
    api.data('mutation($id: ID!) { delete(ids: [$id]) { __typename } }', as_bob,
             id=f"Project:{project.id}")
    deleted = db.scalars(select(AuditEvent).where(AuditEvent.action == "delete")).one()
    assert (deleted.actor_id, deleted.sudo_by_id) == (bob.id, staff.id)
    sudo = db.scalars(select(AuditEvent).where(AuditEvent.action == "sudo")).one()
    assert (sudo.actor_id, sudo.target) == (staff.id, f"Experimenter:{bob.id}")
    assert root.id != bob.id


def test_audit_trail_records_logins_without_secrets_and_only_admins_read_it(
        clients: dict[str, GraphQLClient], world: World) -> None:
    alice = _local_user(world, "alice")
    root = world.user("root", admin=True)
    home = clients["home"]
    _login(home, "alice", "wrong password!")
    token = _login(home, "alice", PASSWORD)["token"]
    query = """query($f: AuditFilterInput) { auditEvents(filter: $f) {
      events { action outcome actorName target clientAddress details } nextCursor } }"""
    events = home.data(query, world.token(root), f={"action": "login"})["auditEvents"]["events"]
    assert [(e["outcome"], e["actorName"], e["clientAddress"]) for e in events] == [
        ("success", "alice", "10.0.0.1"), ("failure", "alice", "10.0.0.1")]
    assert events[0]["target"] == f"Experimenter:{alice.id}"
    text = str(events)
    assert PASSWORD not in text and "wrong password!" not in text and token not in text
    denied = home.errors(query, token)
    assert denied[0]["extensions"]["code"] == "PERMISSION_DENIED"


def test_cors_is_closed_by_default_and_open_to_named_origins(
        tmp_path: Any, engine: Engine, factory: sessionmaker[Session]) -> None:
    preflight = {"Origin": "https://viewer.example.org", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    closed = create_app(load_settings({}, data_dir=tmp_path / "a", run_jobs_in_server=False),
                        engine=engine,
                        factory=factory)
    with TestClient(closed) as client:
        response = client.options("/graphql", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
    opened = create_app(load_settings({}, data_dir=tmp_path / "b", run_jobs_in_server=False,
                                      cors_origins="https://viewer.example.org"),
                        engine=engine, factory=factory)
    with TestClient(opened) as client:
        allowed = client.options("/graphql", headers=preflight)
        assert allowed.headers["access-control-allow-origin"] == "https://viewer.example.org"
        other = client.options("/graphql", headers={**preflight,
                                                    "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


CHOWN = """mutation($ids: [ID!]!, $o: ID!) { changeOwner(ids: $ids, owner: $o) {
  __typename ... on NodesPayload { nodes { ... on Project { owner { username } } } }
  ... on Error { code message field } } }"""


def test_change_owner_needs_the_privilege_and_a_member_as_new_owner(
        api: GraphQLClient, world: World, db: Session) -> None:
    lab, other = world.group("lab"), world.group("other")
    alice, bob, carol = world.user("alice", lab), world.user("bob", lab), world.user("carol", other)
    staff = world.user("staff")
    project = world.add(Project, alice, lab, name="p")
    ids = [f"Project:{project.id}"]
    refused = api.data(CHOWN, world.token(alice), ids=ids, o=f"Experimenter:{bob.id}")
    assert refused["changeOwner"]["__typename"] == "PermissionDeniedError"
    staff.privileges = ["change_ownership"]
    db.commit()
    token = world.token(staff)
    outsider = api.data(CHOWN, token, ids=ids, o=f"Experimenter:{carol.id}")["changeOwner"]
    assert outsider["__typename"] == "ValidationError" and outsider["field"] == "ids.0"
    given = api.data(CHOWN, token, ids=ids, o=f"Experimenter:{bob.id}")["changeOwner"]
    assert given["nodes"] == [{"owner": {"username": "bob"}}]
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "chown")).one()
    assert event.details == {"from": alice.id, "to": bob.id}
    assert event.actor_id == staff.id


def test_logout_is_audited_and_html_gets_security_headers(
        api: GraphQLClient, world: World, db: Session) -> None:
    alice = world.user("alice", world.group("lab"))
    api.data("mutation { logout { __typename } }", world.token(alice))
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "logout")).one()
    assert event.actor_id == alice.id
    page = api.client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    for header in ("content-security-policy", "x-content-type-options", "x-frame-options",
                   "referrer-policy"):
        assert header in page.headers, header
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
