"""LDAP login with ldap3: the service account (or an anonymous bind) finds the user's entry, a
bind as that entry proves the password, then the OMEGraph account is created or synced.

Safety rules kept here: the login is filter-escaped and must name exactly one entry; empty
passwords never reach the directory (an empty simple bind is an unauthenticated bind, which
servers accept); accounts whose password is kept locally are never taken over; only
memberships made by a directory rule (``managed_by="ldap"``) are ever removed; a directory
that cannot be asked raises ProviderUnavailable, so the next provider still gets its turn.
Logs name servers, DNs and logins, never passwords.

A login opens two short-lived connections to the first server that answers (the search as the
service account, then the bind as the user), each with bounded connect and receive timeouts.
There is no pool: it would save a handshake per login but share mutable ldap3 state between
the worker threads that run logins.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from ldap3 import NONE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from omegraph.settings import LdapGroupRule, Settings, SettingsError, parse_ldap_group_rule
from resolvers import audit
from resolvers.authn import ProviderUnavailable
from resolvers.ldap_groups import apply_memberships, group_names, search
from resolvers.validate import USERNAME_RE, db_safe
from store.accounts import Experimenter

log = logging.getLogger("omegraph.ldap")

INVALID_CREDENTIALS = 49
# Result codes that say the directory cannot answer now, rather than "no".
UNAVAILABLE_CODES = frozenset({51, 52, 80})  # busy, unavailable, other
LOOPBACK = ("127.", "localhost", "[::1]", "::1")
DN_LENGTH = 1024


@dataclass(frozen=True)
class DirectoryUser:
    dn: str
    username: str  # the login attribute's value as the directory spells it
    attributes: dict[str, list[str]]  # keys lower-cased

    def first(self, attribute: str) -> str | None:
        values = self.attributes.get(attribute.lower()) if attribute else None
        text = values[0].replace("\x00", "").strip()[:255] if values else ""
        return text or None


class LdapPasswords:
    """A PasswordProvider backed by an LDAP directory (``auth_order`` name "ldap")."""

    name = "ldap"

    def __init__(self, settings: Settings) -> None:
        if not settings.ldap_urls:
            raise SettingsError("ldap_urls: the ldap login provider needs a directory URL")
        if not settings.ldap_user_base:
            raise SettingsError("ldap_user_base: the ldap login provider needs a search base")
        if bool(settings.ldap_bind_dn) != bool(settings.ldap_bind_password):
            raise SettingsError("ldap_bind_dn and ldap_bind_password go together "
                                "(both empty for an anonymous search)")
        ca_file = settings.ldap_ca_file
        if ca_file is not None and not ca_file.is_file():
            raise SettingsError(f"ldap_ca_file: {ca_file} does not exist")
        self.settings = settings
        self.user_base: str = settings.ldap_user_base
        self.rules: tuple[LdapGroupRule, ...] = tuple(
            parse_ldap_group_rule(rule) for rule in settings.ldap_group_rules)
        self.tls = Tls(validate=ssl.CERT_REQUIRED,
                       ca_certs_file=str(ca_file) if ca_file else None)
        for server in self.servers():
            if not (server.ssl or settings.ldap_starttls or server.host.startswith(LOOPBACK)):
                log.warning("ldap: passwords go to %s unencrypted; use ldaps:// or "
                            "ldap_starttls", server.name)

    def servers(self) -> list[Server]:
        """New Server objects for each login: ldap3 Servers keep mutable state (resolved
        addresses, and a failed address is skipped for 5 s), which is not shared between
        threads here."""
        return [Server(url, get_info=NONE, tls=self.tls,
                       connect_timeout=self.settings.ldap_connect_timeout)
                for url in self.settings.ldap_urls]

    # --- the PasswordProvider protocol ---

    def authenticate(self, db: Session, username: str, password: str) -> Experimenter | None:
        if not password or not username or len(username) > 255 or not db_safe(username):
            return None  # an empty password would be an unauthenticated bind: never send it
        if not self._may_be_ours(db, username):
            return None
        with self._service_connection() as conn:
            entry = self._find(conn, username)
            if entry is None or not self._may_be_ours(db, entry.username):
                return None
            if not self._password_ok(conn.server, entry.dn, password):
                return None
            user = db.scalar(select(Experimenter).where(Experimenter.username == entry.username))
            wanted = None
            if user is None or self.settings.ldap_sync_on_login:
                wanted = group_names(conn, self.rules, entry.dn, entry.attributes)
        return self._account(db, user, entry, wanted)

    # --- the directory ---

    @contextmanager
    def _service_connection(self) -> Iterator[Connection]:
        conn = self._connect(self.settings.ldap_bind_dn, self.settings.ldap_bind_password)
        try:
            if not conn.bind():
                log.error("ldap: the service bind to %s was refused (%s)", conn.server.name,
                          conn.result.get("description"))
                raise ProviderUnavailable("the directory refused the service account")
            yield conn
        except (LDAPException, OSError) as exc:
            log.warning("ldap: %s failed: %s", conn.server.name, type(exc).__name__)
            raise ProviderUnavailable("the directory cannot be reached") from None
        finally:
            _close(conn)

    def _connect(self, user: str | None, password: str | None,
                 servers: Sequence[Server] | None = None) -> Connection:
        """An open (and TLS-protected, when configured) connection to the first server
        that answers."""
        for server in servers or self.servers():
            conn = Connection(server, user=user, password=password, read_only=True,
                              raise_exceptions=False, auto_referrals=False,
                              receive_timeout=self.settings.ldap_receive_timeout)
            try:
                conn.open()
                if self.settings.ldap_starttls and not server.ssl:
                    conn.start_tls()
                return conn
            except (LDAPException, OSError) as exc:
                # Connection-level errors (refused, timeout, certificate) carry no credentials.
                log.warning("ldap: cannot use %s: %s: %s", server.name, type(exc).__name__,
                            str(exc)[:300])
                _close(conn)
        raise ProviderUnavailable("the directory cannot be reached")

    def _find(self, conn: Connection, login: str) -> DirectoryUser | None:
        """The one entry the login names, or None (none, several, or an unusable one)."""
        s = self.settings
        attribute = s.ldap_login_attribute
        search_filter = f"(&{s.ldap_user_filter}({attribute}={escape_filter_chars(login)}))"
        wanted = [attribute, s.ldap_first_name_attribute, s.ldap_last_name_attribute,
                  s.ldap_email_attribute, s.ldap_institution_attribute]
        wanted += [rule.target for rule in self.rules if rule.kind == "attribute"]
        if any(rule.kind == "member_of" for rule in self.rules):
            wanted.append("memberOf")
        found = search(conn, self.user_base, search_filter, [a for a in wanted if a], 2)
        if len(found) != 1:
            if found:
                log.warning("ldap: several entries match the login %r (%s, ...); refusing it",
                            login[:64], found[0][0])
            return None
        dn, values = found[0]
        # The canonical spelling: matching rules may ignore case, OMEGraph names do not.
        names = [v for v in values.get(attribute.lower(), []) if v.casefold() == login.casefold()]
        if len(names) != 1 or not USERNAME_RE.fullmatch(names[0]) or len(dn) > DN_LENGTH:
            log.warning("ldap: the entry %s cannot be an OMEGraph account", dn[:DN_LENGTH])
            return None
        return DirectoryUser(dn, names[0], values)

    def _password_ok(self, server: Server, dn: str, password: str) -> bool:
        conn = self._connect(dn, password, [server])
        try:
            if conn.bind():
                return True
        except (LDAPException, OSError) as exc:
            log.warning("ldap: binding at %s failed: %s", server.name, type(exc).__name__)
            raise ProviderUnavailable("the directory cannot be reached") from None
        finally:
            _close(conn)
        code = conn.result.get("result")
        if code in UNAVAILABLE_CODES:
            raise ProviderUnavailable("the directory cannot check passwords now")
        if code != INVALID_CREDENTIALS:
            log.info("ldap: bind as %s refused: %s", dn, conn.result.get("description"))
        return False

    # --- the OMEGraph account ---

    def _may_be_ours(self, db: Session, username: str) -> bool:
        """False for a local (or other non-LDAP) account: LDAP never takes one over."""
        source = db.scalar(select(Experimenter.auth_source)
                           .where(Experimenter.username == username))
        return source in (None, "ldap")

    def _account(self, db: Session, user: Experimenter | None, entry: DirectoryUser,
                 wanted: list[str] | None) -> Experimenter | None:
        s, created = self.settings, user is None
        if user is None:
            user = _create_user(db, entry)
            if user is None:
                return None
            created = user.ldap_dn is None  # False when a concurrent first login won
            user.ldap_dn = entry.dn
        elif user.ldap_dn != entry.dn:
            log.info("ldap: %s now has the entry %s (was %s)", user.username, entry.dn,
                     user.ldap_dn)
            user.ldap_dn = entry.dn
        if created or s.ldap_sync_on_login:
            user.first_name = entry.first(s.ldap_first_name_attribute) or ""
            user.last_name = entry.first(s.ldap_last_name_attribute) or ""
            user.email = entry.first(s.ldap_email_attribute)
            user.institution = entry.first(s.ldap_institution_attribute)
        db.flush()
        if wanted is not None:
            added, removed = apply_memberships(db, user, wanted, s.ldap_create_groups)
            if created or added or removed:
                audit.record(db, "ldap.create" if created else "ldap.sync", None,
                             actor_name=user.username, target=f"Experimenter:{user.id}",
                             details={"added": added, "removed": removed})
        return user


def _create_user(db: Session, entry: DirectoryUser) -> Experimenter | None:
    """The new account, or the one a concurrent first login of the same person just made."""
    try:
        with db.begin_nested():
            user = Experimenter(username=entry.username, auth_source="ldap", ldap_dn=None,
                                password_hash=None)
            db.add(user)
            db.flush()
        return user
    except IntegrityError:
        raced = db.scalar(select(Experimenter).where(Experimenter.username == entry.username))
        return raced if raced is not None and raced.auth_source == "ldap" else None


def _close(conn: Connection) -> None:
    try:
        conn.unbind()
    except (LDAPException, OSError):
        log.debug("ldap: closing a connection failed", exc_info=True)
    # ldap3 keeps the socket of a connection that failed to open, unclosed.
    sock = getattr(conn, "socket", None)
    if sock is not None:
        sock.close()
