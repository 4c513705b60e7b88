"""Login sessions over the real HTTP app: bearer tokens, cookies, expiry, revocation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from resolvers.passwords import hash_password
from resolvers.sessions import token_digest
from store.models import AuthSession, Experimenter
from tests.graphql_client import GraphQLClient
from tests.world import World

PASSWORD = "a long enough password"
LOGIN = """
mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) {
    __typename
    ... on LoginPayload { token expiresAt user { username } }
    ... on Error { code message field }
  }
}
"""
ME = "{ me { username } }"
CHANGE_PASSWORD = """
mutation($old: String, $new: String!) {
  changePassword(oldPassword: $old, newPassword: $new) {
    __typename ... on Error { code message field }
  }
}
"""


def _user_with_password(world: World, name: str = "alice") -> Experimenter:
    user = world.user(name, world.group(f"{name}-lab"))
    user.password_hash = hash_password(PASSWORD)
    world.db.commit()
    return user


def _login(api: GraphQLClient, name: str = "alice", password: str = PASSWORD) -> dict:
    """Log in as an API client would: keep the token, drop the browser cookie."""
    result: dict = api.data(LOGIN, u=name, p=password)["login"]
    api.client.cookies.clear()
    return result


def test_login_issues_a_token_stored_only_as_its_hash(api: GraphQLClient, world: World,
                                                      db: Session) -> None:
    user = _user_with_password(world)
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")

    result = _login(api)

    assert result["__typename"] == "LoginPayload"
    token = result["token"]
    stored = db.scalars(select(AuthSession).where(AuthSession.experimenter_id == user.id)).one()
    assert stored.token_hash == token_digest(token) != token
    assert api.data(ME, token)["me"]["username"] == "alice"


def test_wrong_password_and_unknown_user_get_the_same_answer(api: GraphQLClient,
                                                             world: World) -> None:
    _user_with_password(world)
    wrong = _login(api, password="not the password")
    unknown = _login(api, name="mallory")
    assert wrong["__typename"] == unknown["__typename"] == "AuthenticationError"
    assert wrong["message"] == unknown["message"] == "wrong username or password"


def test_inactive_users_cannot_log_in(api: GraphQLClient, world: World) -> None:
    user = _user_with_password(world)
    user.active = False
    world.db.commit()
    assert _login(api)["__typename"] == "AuthenticationError"


def test_cookie_is_httponly_samesite_and_needs_the_csrf_header_to_post(
        api: GraphQLClient, world: World) -> None:
    _user_with_password(world)
    response = api.client.post("/graphql", json={"query": LOGIN, "variables": {
        "u": "alice", "p": PASSWORD}})
    cookie = response.headers["set-cookie"].lower()
    assert "omegraph_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http in tests; Secure is set behind https

    # The test client now holds the cookie, like a browser would.
    refused = api.client.post("/graphql", json={"query": ME})
    assert refused.status_code == 403
    assert "x-omegraph-csrf" in refused.json()["errors"][0]["message"]

    allowed = api.client.post("/graphql", json={"query": ME}, headers={"X-OMEGraph-CSRF": "1"})
    assert allowed.json()["data"]["me"]["username"] == "alice"
    by_get = api.client.get("/graphql", params={"query": ME})
    assert by_get.json()["data"]["me"]["username"] == "alice"


def test_logout_ends_the_session(api: GraphQLClient, world: World) -> None:
    _user_with_password(world)
    token = _login(api)["token"]

    assert api.data("mutation { logout { __typename } }", token)["logout"]["__typename"] == \
        "OkPayload"

    after = api.client.post("/graphql", json={"query": ME},
                            headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 401
    assert after.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def _age_session(db: Session, token: str, *, idle: dt.timedelta | None = None,
                 expired: bool = False) -> None:
    session = db.scalars(select(AuthSession).where(
        AuthSession.token_hash == token_digest(token))).one()
    now = dt.datetime.now(dt.UTC)
    if idle is not None:
        session.last_seen = now - idle
    if expired:
        session.expires = now - dt.timedelta(seconds=1)
    db.commit()


def test_idle_and_absolute_expiry(api: GraphQLClient, world: World, db: Session) -> None:
    user = world.user("bob", world.group("lab"))
    idle_token, old_token, fresh_token = (world.token(user) for _ in range(3))
    _age_session(db, idle_token, idle=dt.timedelta(hours=3))  # idle timeout is 2 h
    _age_session(db, old_token, expired=True)

    for token in (idle_token, old_token):
        response = api.client.post("/graphql", json={"query": ME},
                                   headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert "expired" in response.json()["errors"][0]["message"]
    assert api.data(ME, fresh_token)["me"]["username"] == "bob"


def test_password_change_needs_the_old_password_and_ends_other_sessions(
        api: GraphQLClient, world: World) -> None:
    _user_with_password(world)
    current = _login(api)["token"]
    other = _login(api)["token"]

    wrong = api.data(CHANGE_PASSWORD, current, old="nope", new="another long password")
    assert wrong["changePassword"]["__typename"] == "AuthenticationError"
    assert api.data(ME, other)["me"]["username"] == "alice"  # nothing changed

    changed = api.data(CHANGE_PASSWORD, current, old=PASSWORD, new="another long password")
    assert changed["changePassword"]["__typename"] == "OkPayload"
    assert api.data(ME, current)["me"]["username"] == "alice"
    assert api.client.post("/graphql", json={"query": ME},
                           headers={"Authorization": f"Bearer {other}"}).status_code == 401
    assert _login(api, password=PASSWORD)["__typename"] == "AuthenticationError"
    assert _login(api, password="another long password")["__typename"] == "LoginPayload"
