"""LDAP login through the real GraphQL ``login`` mutation against a real slapd."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from omegraph.settings import Settings
from resolvers.ldap_login import LdapPasswords
from resolvers.passwords import hash_password
from store.models import AuditEvent, Experimenter, ExperimenterGroup, GroupMembership
from tests.graphql_client import GraphQLClient
from tests.ldap.conftest import MakeApi
from tests.ldap.directory import GROUPS, ROLES, Edits, Slapd, dn, free_port, password
from tests.world import World

LOGIN = """
mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) {
    __typename
    ... on LoginPayload {
      token
      user { username firstName lastName email institution authSource }
    }
    ... on Error { code message field }
  }
}
"""
WRONG = "wrong username or password"
UNREACHABLE = "the directory (LDAP) cannot be reached; try again later"
GROUP_NAMES = ("everyone", "lab-a", "lab-b", "imaging", "cryo-em", "facility-staff",
               "ghost-lab", "light sheet, B", "manual")


def login(api: GraphQLClient, name: str, secret: str | None = None) -> dict:
    result: dict = api.data(LOGIN, u=name, p=password(name) if secret is None else secret)
    api.client.cookies.clear()
    return result["login"]


def account(db: Session, name: str) -> Experimenter | None:
    db.expire_all()
    return db.scalar(select(Experimenter).where(Experimenter.username == name))


def memberships(db: Session, name: str) -> dict[str, str | None]:
    """Group name -> managed_by of the user's memberships."""
    db.expire_all()
    return dict(db.execute(
        select(ExperimenterGroup.name, GroupMembership.managed_by)
        .join(GroupMembership, GroupMembership.group_id == ExperimenterGroup.id)
        .join(Experimenter, Experimenter.id == GroupMembership.experimenter_id)
        .where(Experimenter.username == name)).all())


def default_group(db: Session, name: str) -> str | None:
    db.expire_all()
    return db.scalar(select(ExperimenterGroup.name).join(
        Experimenter, Experimenter.default_group_id == ExperimenterGroup.id)
        .where(Experimenter.username == name))


@pytest.fixture
def groups(world: World) -> dict[str, ExperimenterGroup]:
    """The OMEGraph groups the directory's rules can name (not "not-in-omegraph")."""
    return {name: world.group(name) for name in GROUP_NAMES}


@pytest.fixture
def closed_port() -> int:
    return free_port()  # nothing listens there once the probe socket is closed


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel completes them) but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


def test_first_login_creates_the_account_from_the_directory(
        api: GraphQLClient, db: Session, groups: dict[str, ExperimenterGroup]) -> None:
    result = login(api, "alice")

    assert result["__typename"] == "LoginPayload", result
    assert result["user"] == {
        "username": "alice", "firstName": "Alice", "lastName": "Liddell",
        "email": "alice@example.org", "institution": "Wonderland Institute",
        "authSource": "ldap"}
    assert default_group(db, "alice") == "everyone"
    user = account(db, "alice")
    assert user is not None and user.ldap_dn == dn("alice") and user.password_hash is None
    # Every rule kind; a directory group with no OMEGraph group of its name is ignored.
    assert memberships(db, "alice") == dict.fromkeys(
        ["everyone", "lab-a", "lab-b", "imaging", "facility-staff"], "ldap")
    assert db.scalar(select(ExperimenterGroup).where(
        ExperimenterGroup.name == "not-in-omegraph")) is None
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "ldap.create")).one()
    assert event.target == f"Experimenter:{user.id}" and event.actor_name == "alice"
    assert api.data("{ me { username } }", result["token"])["me"]["username"] == "alice"


@pytest.mark.parametrize(("rule", "name", "expected"), [
    ("fixed:everyone", "bob", ["everyone"]),
    (f"member_of:{GROUPS}", "bob", ["lab-b"]),
    # memberOf values under the base (unescaped cn), nothing from elsewhere.
    (f"member_of:{GROUPS}", "dave", ["ghost-lab", "light sheet, B"]),
    # A DN with \\ , ( ) and * must be filter-escaped to find jo's groups at all.
    (f"member_of:{GROUPS}", "jo", ["lab-a"]),
    ("attribute:departmentNumber", "carol", ["imaging"]),  # no-such-group is ignored
    (f"query:{ROLES}:(&(objectClass=organizationalRole)(roleOccupant={{dn}}))", "jo",
     ["facility-staff"]),
])
def test_each_rule_kind_gives_groups_and_the_first_is_the_default(
        make_api: MakeApi, db: Session, groups: dict[str, ExperimenterGroup], rule: str,
        name: str, expected: list[str]) -> None:
    result = login(make_api(ldap_group_rules=rule), name)

    assert result["__typename"] == "LoginPayload", result
    assert memberships(db, name) == dict.fromkeys(expected, "ldap")
    assert default_group(db, name) == expected[0]


def test_missing_groups_are_created_private_only_when_configured(
        make_api: MakeApi, db: Session) -> None:
    result = login(make_api(ldap_create_groups=True, ldap_group_rules=f"member_of:{GROUPS}"),
                   "alice")

    assert result["__typename"] == "LoginPayload", result
    assert memberships(db, "alice") == dict.fromkeys(["lab-a", "lab-b", "not-in-omegraph"],
                                                     "ldap")
    created = db.scalars(select(ExperimenterGroup).where(ExperimenterGroup.name.in_(
        ["lab-a", "lab-b", "not-in-omegraph"]))).all()
    assert {group.permissions for group in created} == {"rw----"}


def test_sync_on_login_follows_the_directory_but_keeps_manual_memberships(
        api: GraphQLClient, db: Session, world: World, directory: Edits,
        groups: dict[str, ExperimenterGroup]) -> None:
    assert login(api, "alice")["__typename"] == "LoginPayload"
    alice = account(db, "alice")
    assert alice is not None
    # An administrator adds alice to "manual" by hand, takes over her "imaging" membership
    # (it then stays whatever the directory says) and makes lab-b her default group.
    db.add(GroupMembership(experimenter_id=alice.id, group_id=groups["manual"].id))
    db.get_one(GroupMembership, (alice.id, groups["imaging"].id)).managed_by = None
    alice.default_group_id = groups["lab-b"].id
    db.commit()
    directory.replace(dn("alice"), "sn", "Hargreaves")
    directory.replace(dn("alice"), "mail", "alice@wonderland.example")
    directory.replace(dn("alice"), "departmentNumber", "cryo-em")
    directory.replace(f"cn=lab-b,{GROUPS}", "member", dn("bob"))

    result = login(api, "alice")

    assert result["__typename"] == "LoginPayload", result
    assert result["user"]["lastName"] == "Hargreaves"
    assert result["user"]["email"] == "alice@wonderland.example"
    assert memberships(db, "alice") == {
        "everyone": "ldap", "lab-a": "ldap", "facility-staff": "ldap", "cryo-em": "ldap",
        "imaging": None, "manual": None}
    assert default_group(db, "alice") == "everyone"  # lab-b is gone
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "ldap.sync")).one()
    assert event.details == {"added": ["cryo-em"], "removed": ["lab-b"]}


def test_without_sync_on_login_existing_accounts_stay_as_they_are(
        make_api: MakeApi, db: Session, directory: Edits,
        groups: dict[str, ExperimenterGroup]) -> None:
    api = make_api(ldap_sync_on_login=False)
    assert login(api, "alice")["__typename"] == "LoginPayload"
    before = memberships(db, "alice")
    directory.replace(dn("alice"), "sn", "Hargreaves")
    directory.replace(dn("alice"), "departmentNumber", "cryo-em")

    result = login(api, "alice")

    assert result["__typename"] == "LoginPayload", result
    assert result["user"]["lastName"] == "Liddell"
    assert memberships(db, "alice") == before
    assert "imaging" in before and "cryo-em" not in before


def test_wrong_password_and_unknown_user_get_the_same_answer(
        api: GraphQLClient, db: Session) -> None:
    wrong = login(api, "alice", "not alice's password")
    unknown = login(api, "mallory", "whatever it is")

    assert wrong["__typename"] == unknown["__typename"] == "AuthenticationError"
    assert wrong["message"] == unknown["message"] == WRONG
    assert account(db, "alice") is None and account(db, "mallory") is None


def test_several_matching_entries_refuse_the_login(
        api: GraphQLClient, db: Session, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="omegraph.ldap"):
        result = login(api, "twin")

    assert result["__typename"] == "AuthenticationError" and result["message"] == WRONG
    assert account(db, "twin") is None
    assert "several entries match the login 'twin'" in caplog.text
    assert password("twin") not in caplog.text


def test_filter_injection_matches_nobody(api: GraphQLClient, db: Session) -> None:
    # Unescaped, "al*" and "*)(uid=alice" would each find alice's entry alone, and her
    # password would then log them in.
    for attempt in ("*", "*)(uid=*", "alice)(|(uid=*", "al*", "*)(uid=alice", "alice\\",
                    "alice\x00", "a" * 255, "a" * 10_000):
        result = login(api, attempt, password("alice"))
        assert result["__typename"] == "AuthenticationError", attempt
        assert result["message"] == WRONG, attempt
    assert db.scalars(select(Experimenter)).all() == []


def test_the_provider_itself_escapes_what_it_searches(db: Session, settings: Settings) -> None:
    provider = LdapPasswords(settings)
    for attempt in ("al*", "*)(uid=alice", "alice\x00", "ALICE)"):
        assert provider.authenticate(db, attempt, password("alice")) is None, attempt
    assert provider.authenticate(db, "ALICE", password("alice")) is not None


def test_empty_password_never_reaches_the_directory(
        api: GraphQLClient, db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_args: object) -> None:
        raise AssertionError("an empty password must not be sent to the directory")

    monkeypatch.setattr(LdapPasswords, "_service_connection", never)

    result = login(api, "alice", "")

    assert result["__typename"] == "AuthenticationError" and result["message"] == WRONG
    assert account(db, "alice") is None


def test_login_names_are_matched_as_the_directory_does_and_kept_as_it_spells_them(
        api: GraphQLClient, db: Session) -> None:
    first = login(api, "ALICE", password("alice"))
    again = login(api, "alice")

    assert first["__typename"] == again["__typename"] == "LoginPayload"
    assert first["user"]["username"] == again["user"]["username"] == "alice"
    assert db.scalars(select(Experimenter)).all() == [account(db, "alice")]


def test_a_local_account_is_never_taken_over(api: GraphQLClient, db: Session,
                                             world: World) -> None:
    erin = world.user("erin", world.group("erin-lab"))
    erin.password_hash = hash_password("erin's local password")
    world.db.commit()

    by_directory = login(api, "erin")
    other_case = login(api, "Erin", password("erin"))
    locally = login(api, "erin", "erin's local password")

    assert by_directory["__typename"] == other_case["__typename"] == "AuthenticationError"
    assert locally["__typename"] == "LoginPayload"
    assert locally["user"]["authSource"] == "local"
    assert locally["user"]["email"] is None  # nothing was copied from the directory
    user = account(db, "erin")
    assert user is not None and user.ldap_dn is None and user.password_hash is not None
    assert account(db, "Erin") is None


def test_directory_down_names_it_and_local_admins_still_log_in(
        api: GraphQLClient, make_api: MakeApi, db: Session, world: World,
        closed_port: int) -> None:
    root = world.user("root", admin=True)
    root.password_hash = hash_password("root's local password")
    world.db.commit()
    assert login(api, "alice")["__typename"] == "LoginPayload"  # an LDAP account exists
    down = make_api(ldap_urls=f"ldap://127.0.0.1:{closed_port}")

    for name in ("alice", "nobody"):
        result = login(down, name)
        assert result["__typename"] == "AuthenticationError"
        assert result["message"] == UNREACHABLE
    assert login(down, "root", "root's local password")["__typename"] == "LoginPayload"
    failure = db.scalars(select(AuditEvent).where(AuditEvent.outcome == "failure")
                         .order_by(AuditEvent.id)).first()
    assert failure is not None and failure.details["unavailable"] == ["ldap"]


def test_a_directory_that_does_not_answer_times_out(make_api: MakeApi,
                                                    silent_port: int) -> None:
    api = make_api(ldap_urls=f"ldap://127.0.0.1:{silent_port}", ldap_receive_timeout=1)
    started = time.monotonic()

    result = login(api, "alice")

    assert result["message"] == UNREACHABLE
    assert time.monotonic() - started < 5


def test_the_next_server_is_used_when_the_first_is_down(make_api: MakeApi, slapd: Slapd,
                                                        closed_port: int) -> None:
    api = make_api(ldap_urls=f"ldap://127.0.0.1:{closed_port},{slapd.url}")
    assert login(api, "bob")["__typename"] == "LoginPayload"


@pytest.mark.parametrize("tls", ["ldaps", "starttls"])
def test_tls_with_the_configured_ca(make_api: MakeApi, slapd: Slapd, tls: str) -> None:
    urls = (f"ldaps://localhost:{slapd.tls_port}" if tls == "ldaps"
            else f"ldap://localhost:{slapd.port}")
    api = make_api(ldap_urls=urls, ldap_starttls=tls == "starttls", ldap_ca_file=slapd.ca_file)
    assert login(api, "bob")["__typename"] == "LoginPayload"


def test_untrusted_certificates_and_a_refused_service_account_count_as_unavailable(
        make_api: MakeApi, slapd: Slapd, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="omegraph.ldap"):
        # The system's CAs do not know the test CA.
        ldaps = login(make_api(ldap_urls=f"ldaps://localhost:{slapd.tls_port}"), "alice")
        starttls = login(make_api(ldap_urls=f"ldap://localhost:{slapd.port}",
                                  ldap_starttls=True), "alice")
        bad_service = login(make_api(ldap_bind_password="not the service password"), "alice")

    assert ldaps["message"] == starttls["message"] == bad_service["message"] == UNREACHABLE
    assert "service bind" in caplog.text
    assert "not the service password" not in caplog.text and password("alice") not in caplog.text


def test_an_anonymous_search_works_where_the_directory_allows_it(make_api: MakeApi) -> None:
    api = make_api(ldap_bind_dn="", ldap_bind_password="")
    assert login(api, "carol")["__typename"] == "LoginPayload"
