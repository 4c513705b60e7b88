"""A real OpenLDAP slapd for the test session: its own config and data under a temp dir, on a
free localhost port, seeded with slapadd before it starts (fast, no network round trips).

The organisation (dc=example,dc=org): people alice, bob, carol, dave (memberOf values, as AD
keeps them), erin (also a local account in some tests), jo (a DN full of characters that
filters must escape) and two entries sharing uid=twin; groupOfNames in ou=groups; roles
(organizationalRole with roleOccupant) in ou=roles for query rules; the service account
cn=omegraph,ou=services.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ldap3 import MODIFY_REPLACE, Connection, Server

BASE = "dc=example,dc=org"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
ROLES = f"ou=roles,{BASE}"
ADMIN_DN, ADMIN_PASSWORD = f"cn=admin,{BASE}", "directory-admin-secret"
SERVICE_DN, SERVICE_PASSWORD = f"cn=omegraph,ou=services,{BASE}", "service-secret"
JO_DN = f"cn=Smith\\, Jo (PhD)*,{PEOPLE}"


def dn(uid: str) -> str:
    return JO_DN if uid == "jo" else f"uid={uid},{PEOPLE}"


def password(uid: str) -> str:
    return f"{uid}-directory-password"


CONFIG = """\
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {root}/slapd.pid
olcTLSCACertificateFile: {root}/ca.pem
olcTLSCertificateFile: {root}/server.pem
olcTLSCertificateKeyFile: {root}/server.key

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

# memberOf as a plain attribute (Active Directory and the memberof overlay keep it), so the
# member_of rule's memberOf path is tested on its own.
dn: cn=omegraphtest,cn=schema,cn=config
objectClass: olcSchemaConfig
cn: omegraphtest
olcAttributeTypes: ( 1.3.6.1.4.1.55555.1.1 NAME 'memberOf' EQUALITY distinguishedNameMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )
olcObjectClasses: ( 1.3.6.1.4.1.55555.2.1 NAME 'omegraphTestPerson' AUXILIARY MAY memberOf )

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {base}
olcDbDirectory: {root}/data
olcDbMaxSize: 16777216
olcRootDN: {admin}
olcRootPW: {admin_password}
olcAccess: {{0}}to attrs=userPassword by anonymous auth by * none
olcAccess: {{1}}to * by * read
"""


def _ssha(secret: str) -> str:
    salt = os.urandom(8)
    digest = hashlib.sha1(secret.encode() + salt).digest()  # noqa: S324 - slapd's {SSHA}
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def _entry(entry_dn: str, *classes: str, **attributes: str | list[str]) -> str:
    lines = [f"dn: {entry_dn}", *(f"objectClass: {name}" for name in classes)]
    for name, values in attributes.items():
        for value in [values] if isinstance(values, str) else values:
            lines.append(f"{name}: {value}")
    return "\n".join(lines)


def _person(uid: str, given: str, sn: str, **more: str | list[str]) -> str:
    classes = ["inetOrgPerson", *(["omegraphTestPerson"] if "memberOf" in more else [])]
    cn = "Smith, Jo (PhD)*" if uid == "jo" else f"{given} {sn}"
    attributes: dict[str, str | list[str]] = {"uid": uid, "cn": cn,
                                             "givenName": given, "sn": sn,
                                             "userPassword": _ssha(password(uid)), **more}
    return _entry(dn(uid), *classes, **attributes)


def seed() -> str:
    entries = [
        _entry(BASE, "dcObject", "organization", dc="example", o="Example"),
        *(_entry(f"ou={ou},{BASE}", "organizationalUnit", ou=ou)
          for ou in ("people", "groups", "roles", "services")),
        _entry(SERVICE_DN, "organizationalRole", "simpleSecurityObject", cn="omegraph",
               userPassword=_ssha(SERVICE_PASSWORD)),
        _person("alice", "Alice", "Liddell", mail="alice@example.org",
                o="Wonderland Institute", departmentNumber="imaging"),
        _person("bob", "Bob", "Builder", mail="bob@example.org", departmentNumber="cryo-em"),
        _person("carol", "Carol", "Danvers", departmentNumber=["imaging", "no-such-group"]),
        _person("dave", "Dave", "Bowman", memberOf=[
            f"cn=ghost-lab,{GROUPS}", f"cn=light sheet\\, B,{GROUPS}", f"cn=elsewhere,{ROLES}"]),
        _person("erin", "Erin", "Directory", mail="erin@example.org"),
        _person("jo", "Jo", "Smith"),
        *(_entry(f"cn=Twin {n},{PEOPLE}", "inetOrgPerson", uid="twin", cn=f"Twin {n}",
                 sn="Twin", userPassword=_ssha(password("twin"))) for n in ("One", "Two")),
        _entry(f"cn=lab-a,{GROUPS}", "groupOfNames", cn="lab-a",
               member=[dn("alice"), dn("jo")]),
        _entry(f"cn=lab-b,{GROUPS}", "groupOfNames", cn="lab-b",
               member=[dn("alice"), dn("bob")]),
        _entry(f"cn=not-in-omegraph,{GROUPS}", "groupOfNames", cn="not-in-omegraph",
               member=dn("alice")),
        _entry(f"cn=facility-staff,{ROLES}", "organizationalRole", cn="facility-staff",
               roleOccupant=[dn("alice"), dn("jo")]),
    ]
    return "\n\n".join(entries) + "\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SlapdError(RuntimeError):
    pass


@dataclass
class Slapd:
    root: Path
    port: int = 0
    tls_port: int = 0  # ldaps://; StartTLS works on ``port`` too
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        """The test CA that signed the server's certificate (for localhost and 127.0.0.1)."""
        return self.root / "ca.pem"

    def start(self) -> None:
        binaries = {name: shutil.which(name) or f"/usr/sbin/{name}"
                    for name in ("slapd", "slapadd", "openssl")}
        for name, path in binaries.items():
            if not Path(path).is_file():
                raise SlapdError(f"{name} is not installed (scripts/install-system-deps.sh)")
        config_dir, data_dir = self.root / "slapd.d", self.root / "data"
        config_dir.mkdir()
        data_dir.mkdir()
        (self.root / "config.ldif").write_text(CONFIG.format(
            root=self.root, base=BASE, admin=ADMIN_DN, admin_password=ADMIN_PASSWORD))
        (self.root / "seed.ldif").write_text(seed())
        self._certificates(binaries["openssl"])
        self._run(binaries["slapadd"], "-n0", "-F", config_dir, "-l", self.root / "config.ldif")
        self._run(binaries["slapadd"], "-n1", "-F", config_dir, "-l", self.root / "seed.ldif")
        for _attempt in range(3):  # the free port may be taken before slapd binds it
            self.port, self.tls_port = free_port(), free_port()
            urls = f"{self.url}/ ldaps://127.0.0.1:{self.tls_port}/"
            log = (self.root / "slapd.log").open("wb")
            self.process = subprocess.Popen(
                [binaries["slapd"], "-h", urls, "-F", str(config_dir), "-d", "0"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            log.close()
            if self._wait_until_answering():
                return
        raise SlapdError(f"slapd did not start: {self._log_tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def admin(self) -> Connection:
        return Connection(Server(self.url, connect_timeout=5), ADMIN_DN, ADMIN_PASSWORD,
                          auto_bind=True, receive_timeout=5, raise_exceptions=True)

    def _wait_until_answering(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:  # not listening yet
                time.sleep(0.05)
                continue
            self.admin().unbind()
            return True
        self.stop()
        return False

    def _certificates(self, openssl: str) -> None:
        """A throwaway CA and a server certificate it signed."""
        key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
        (self.root / "san.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        self._run(openssl, "req", "-x509", *key, "-keyout", self.root / "ca.key",
                  "-out", self.ca_file, "-days", "2", "-subj", "/CN=OMEGraph test CA")
        self._run(openssl, "req", *key, "-keyout", self.root / "server.key",
                  "-out", self.root / "server.csr", "-subj", "/CN=localhost")
        self._run(openssl, "x509", "-req", "-in", self.root / "server.csr", "-CA", self.ca_file,
                  "-CAkey", self.root / "ca.key", "-CAcreateserial", "-days", "2",
                  "-extfile", self.root / "san.cnf", "-out", self.root / "server.pem")

    def _run(self, *command: str | Path) -> None:
        result = subprocess.run([str(part) for part in command], capture_output=True,
                                check=False, timeout=60)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).decode(errors="replace")[-2000:]
            raise SlapdError(f"{Path(str(command[0])).name} failed: {output}")

    def _log_tail(self) -> str:
        log = self.root / "slapd.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"


class Edits:
    """Changes to the shared directory during one test, undone at its end."""

    def __init__(self, slapd: Slapd) -> None:
        self.conn = slapd.admin()
        self.undo: list[tuple[str, str, list[bytes]]] = []

    def replace(self, entry_dn: str, attribute: str, *values: str) -> None:
        self.conn.search(entry_dn, "(objectClass=*)", "BASE", attributes=[attribute])
        old = list(self.conn.response[0]["raw_attributes"].get(attribute, []))
        self.undo.append((entry_dn, attribute, old))
        self.conn.modify(entry_dn, {attribute: [(MODIFY_REPLACE, list(values))]})

    def restore(self) -> None:
        for entry_dn, attribute, old in reversed(self.undo):
            self.conn.modify(entry_dn, {attribute: [(MODIFY_REPLACE, old)]})
        self.conn.unbind()
