"""LDAP login tests against a real slapd started once per test session (per xdist worker).

With ``CI=true`` a slapd that cannot be started fails the run; elsewhere these tests are
skipped with the reason (see tests/services.py). The app under test is the real one, built
with ``auth_order="ldap,local"`` and the ``ldap_*`` settings pointing at that slapd.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from omegraph.app import create_app
from omegraph.settings import Settings, load_settings
from tests.graphql_client import GraphQLClient
from tests.ldap.directory import (
    GROUPS,
    PEOPLE,
    ROLES,
    SERVICE_DN,
    SERVICE_PASSWORD,
    Edits,
    Slapd,
    SlapdError,
)
from tests.services import service_missing

RULES = (
    "fixed:everyone",
    f"member_of:{GROUPS}",
    "attribute:departmentNumber",
    f"query:{ROLES}:(&(objectClass=organizationalRole)(roleOccupant={{dn}}))",
)

MakeApi = Callable[..., GraphQLClient]


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    server = Slapd(tmp_path_factory.mktemp("slapd"))
    try:
        server.start()
    except (SlapdError, OSError, ValueError) as exc:
        server.stop()
        service_missing("slapd (OpenLDAP)", exc)
    yield server
    server.stop()


@pytest.fixture
def directory(slapd: Slapd) -> Iterator[Edits]:
    """Edit the directory within one test; the edits are undone afterwards."""
    edits = Edits(slapd)
    yield edits
    edits.restore()


def ldap_settings(data_dir: Path, url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "auth_order": "ldap,local", "ldap_urls": url, "ldap_bind_dn": SERVICE_DN,
        "ldap_bind_password": SERVICE_PASSWORD, "ldap_user_base": PEOPLE,
        "ldap_group_rules": list(RULES), "ldap_connect_timeout": 2, "ldap_receive_timeout": 2,
    }
    return load_settings({}, data_dir=data_dir, **{**values, **overrides})


@pytest.fixture
def settings(tmp_path: Path, slapd: Slapd) -> Settings:
    """What the shared ``client`` and ``api`` fixtures build the app with."""
    return ldap_settings(tmp_path / "data", slapd.url)


@pytest.fixture
def make_api(tmp_path: Path, slapd: Slapd, engine: Engine,
             factory: sessionmaker[Session]) -> Iterator[MakeApi]:
    """Another app on the same database with some LDAP settings changed."""
    with ExitStack() as stack:
        def build(**overrides: Any) -> GraphQLClient:
            settings = ldap_settings(tmp_path / "data", slapd.url, **overrides)
            app = create_app(settings, engine=engine, factory=factory)
            return GraphQLClient(stack.enter_context(TestClient(app)))

        yield build
