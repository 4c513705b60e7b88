"""One typed, immutable settings object read from the environment and an optional TOML file.

Precedence: ``OMEGRAPH_*`` environment variables, then the config file (``OMEGRAPH_CONFIG``,
or ``omegraph.toml`` in the data directory), then the embedded defaults.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ENV_PREFIX = "OMEGRAPH_"


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the setting."""


def parse_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected a boolean, got {value!r}")


def parse_positive_int(value: object) -> int:
    number = int(str(value))
    if number <= 0:
        raise ValueError(f"expected a positive integer, got {value!r}")
    return number


def parse_optional_str(value: object) -> str | None:
    text = str(value).strip()
    return text or None


def parse_names(value: object) -> tuple[str, ...]:
    """A comma-separated string or a list of names."""
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return tuple(str(item).strip() for item in items if str(item).strip())


def parse_positive_float(value: object) -> float:
    number = float(str(value))
    if not number > 0:
        raise ValueError(f"expected a positive number, got {value!r}")
    return number


def parse_after_import(value: object) -> str:
    text = str(value).strip().lower()
    if text not in {"leave", "move"}:
        raise ValueError(f"expected leave or move, got {value!r}")
    return text


def parse_log_level(value: object) -> str:
    level = str(value).strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError(f"expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got {value!r}")
    return level


def parse_path(value: object) -> Path:
    return Path(str(value)).expanduser()


def parse_optional_path(value: object) -> Path | None:
    text = str(value).strip()
    return Path(text).expanduser() if text else None


def parse_path_template(value: object) -> str:
    from store.repository import InvalidTemplate, validate_template

    text = str(value).strip()
    try:
        validate_template(text)
    except InvalidTemplate as exc:
        raise ValueError(str(exc)) from None
    return text


def parse_duplicate_policy(value: object) -> str:
    text = str(value).strip().lower()
    if text not in {"skip", "import"}:
        raise ValueError(f"expected skip or import, got {value!r}")
    return text


# --- LDAP values. ldap3 is imported only when an LDAP setting is given. ---

LDAP_RULE_KINDS = ("fixed", "member_of", "attribute", "query")
_LDAP_ATTRIBUTE = re.compile(r"[A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+")


@dataclass(frozen=True)
class LdapGroupRule:
    """One ``ldap_group_rules`` entry: which OMEGraph groups a directory user belongs to.

    ``fixed:GROUP``; ``member_of:BASE_DN`` (groupOfNames/groupOfUniqueNames under BASE_DN
    listing the user, or the user's memberOf values under BASE_DN; the group's cn names the
    OMEGraph group); ``attribute:ATTR`` (each value of the user's ATTR names a group);
    ``query:BASE_DN:FILTER`` (the cn of each entry FILTER finds under BASE_DN, ``{dn}`` being
    replaced by the user's DN, filter-escaped).
    """

    kind: str
    target: str  # the group name, base DN or attribute
    filter: str = ""  # query rules only


def parse_ldap_dn(value: object) -> str:
    from ldap3.core.exceptions import LDAPInvalidDnError
    from ldap3.utils.dn import parse_dn

    text = str(value).strip()
    try:
        parse_dn(text)
    except LDAPInvalidDnError as exc:
        raise ValueError(f"{text!r} is not a DN such as ou=people,dc=example,dc=org") from exc
    return text


def parse_optional_ldap_dn(value: object) -> str | None:
    return parse_ldap_dn(value) if str(value).strip() else None


def parse_ldap_filter(value: object) -> str:
    from ldap3.core.exceptions import LDAPInvalidFilterError
    from ldap3.operation.search import parse_filter

    text = str(value).strip()
    try:
        parse_filter(  # type: ignore[no-untyped-call]
            text.replace("{dn}", "cn=x"), None, True, True, None, False)
    except LDAPInvalidFilterError as exc:
        raise ValueError(
            f"{text!r} is not an LDAP filter such as (objectClass=inetOrgPerson)") from exc
    return text


def parse_ldap_attribute(value: object) -> str:
    text = str(value).strip()
    if not _LDAP_ATTRIBUTE.fullmatch(text):
        raise ValueError(f"{text!r} is not an LDAP attribute name")
    return text


def parse_optional_ldap_attribute(value: object) -> str:
    """An attribute name, or empty for "not taken from the directory"."""
    return parse_ldap_attribute(value) if str(value).strip() else ""


def parse_ldap_urls(value: object) -> tuple[str, ...]:
    """ldap:// or ldaps:// URLs with a host and optional port; comma-separated or a list."""
    urls = tuple(parse_names(value) if isinstance(value, list | tuple)
                 else (part for part in re.split(r"[,\s]+", str(value)) if part))
    for url in urls:
        parts = urlsplit(url)
        try:
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            port_ok = False
        if (parts.scheme.lower() not in {"ldap", "ldaps"} or not parts.hostname or not port_ok
                or parts.path not in {"", "/"} or parts.query or parts.username):
            raise ValueError(f"{url!r} is not ldap://host[:port] or ldaps://host[:port]")
    return urls


def parse_ldap_group_rule(text: str) -> LdapGroupRule:
    kind, colon, rest = text.strip().partition(":")
    kind, rest = kind.strip().lower(), rest.strip()
    if not colon or kind not in LDAP_RULE_KINDS:
        raise ValueError(f"rule {text!r} must start with {', '.join(LDAP_RULE_KINDS)} and ':'")
    if not rest:
        raise ValueError(f"rule {text!r} names nothing after {kind}:")
    if kind == "fixed":
        if len(rest) > 255:
            raise ValueError(f"rule {text!r}: group names have at most 255 characters")
        return LdapGroupRule(kind, rest)
    if kind == "attribute":
        return LdapGroupRule(kind, parse_ldap_attribute(rest))
    if kind == "member_of":
        return LdapGroupRule(kind, parse_ldap_dn(rest))
    base, paren, search = rest.partition(":(")
    if not paren:
        raise ValueError(f"rule {text!r} must be query:BASE_DN:(FILTER)")
    search = parse_ldap_filter("(" + search)
    if "{dn}" not in search:
        raise ValueError(f"rule {text!r}: the filter must use {{dn}}, the user's DN")
    return LdapGroupRule(kind, parse_ldap_dn(base), search)


def parse_ldap_group_rules(value: object) -> tuple[str, ...]:
    """Rules separated by ';' (DNs hold commas), or a TOML list with one rule per item."""
    items = value if isinstance(value, list | tuple) else str(value).split(";")
    rules = tuple(str(item).strip() for item in items if str(item).strip())
    for rule in rules:
        parse_ldap_group_rule(rule)
    return rules


def _setting(default: Any, parse: Callable[[object], Any], *, secret: bool = False,
             help: str = "", separator: str = ", ") -> Any:
    return field(default=default, metadata={"parse": parse, "secret": secret, "help": help,
                                            "separator": separator})


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "omegraph"


@dataclass(frozen=True)
class Settings:
    """Effective configuration. Paths and URLs left empty are derived from ``data_dir``."""

    data_dir: Path = _setting(None, parse_path,
                              help="where the embedded database and repository live")
    database_url: str | None = _setting(None, parse_optional_str, secret=True,
                                        help="SQLAlchemy URL; default SQLite in data_dir")
    redis_url: str | None = _setting(None, parse_optional_str, secret=True,
                                     help="Redis for the job queue; default in-process")
    repository_dir: Path = _setting(None, parse_path,
                                    help="binary repository; default data_dir/repository")
    dropbox_dir: Path = _setting(None, parse_path, help="DropBox root; default data_dir/dropbox")
    host: str = _setting("127.0.0.1", str)
    port: int = _setting(4080, parse_positive_int)
    workers: int = _setting(1, parse_positive_int, help="uvicorn worker processes")
    admin_password: str | None = _setting(None, parse_optional_str, secret=True,
                                          help="password of root on first start; default generated")
    session_idle_timeout: int = _setting(2 * 3600, parse_positive_int, help="seconds")
    session_absolute_timeout: int = _setting(7 * 24 * 3600, parse_positive_int, help="seconds")
    auth_order: tuple[str, ...] = _setting(
        ("local",), parse_names,
        help="password providers to try, in order: local, ldap (e.g. ldap,local)")
    login_window: int = _setting(900, parse_positive_int, help="seconds failures are counted")
    login_failures_per_account_address: int = _setting(5, parse_positive_int)
    login_failures_per_address: int = _setting(30, parse_positive_int)
    login_failures_per_account: int = _setting(
        20, parse_positive_int, help="then one attempt per 30 s for that account")
    # --- LDAP login: the "ldap" provider. Turn it on with OMEGRAPH_AUTH_ORDER=ldap,local (local
    # second, so local administrators can still log in while the directory is down). A service
    # account (or an anonymous bind) finds the user under ldap_user_base with ldap_user_filter
    # and (ldap_login_attribute=LOGIN); a bind as that entry checks the password. The first
    # login creates the account (no local password); ldap_group_rules give its groups.
    ldap_urls: tuple[str, ...] = _setting(
        (), parse_ldap_urls,
        help="directory servers tried in order: ldap://host[:port] or ldaps://host[:port]")
    ldap_starttls: bool = _setting(False, parse_bool, help="StartTLS on ldap:// connections")
    ldap_ca_file: Path | None = _setting(
        None, parse_optional_path, help="PEM CA certificates for TLS; default the system's")
    ldap_connect_timeout: int = _setting(5, parse_positive_int, help="seconds per server")
    ldap_receive_timeout: int = _setting(10, parse_positive_int, help="seconds per answer")
    ldap_bind_dn: str | None = _setting(
        None, parse_optional_ldap_dn, help="service account that searches; empty: anonymous")
    ldap_bind_password: str | None = _setting(None, parse_optional_str, secret=True)
    ldap_user_base: str | None = _setting(None, parse_optional_ldap_dn,
                                          help="subtree searched for users")
    ldap_user_filter: str = _setting("(objectClass=inetOrgPerson)", parse_ldap_filter)
    ldap_login_attribute: str = _setting("uid", parse_ldap_attribute,
                                         help="its value is the OMEGraph username")
    # The attributes copied into the account; empty: not taken from the directory.
    ldap_first_name_attribute: str = _setting("givenName", parse_optional_ldap_attribute)
    ldap_last_name_attribute: str = _setting("sn", parse_optional_ldap_attribute)
    ldap_email_attribute: str = _setting("mail", parse_optional_ldap_attribute)
    ldap_institution_attribute: str = _setting("o", parse_optional_ldap_attribute)
    # ';'-separated (a TOML list in the file): fixed:GROUP, member_of:BASE_DN, attribute:ATTR,
    # query:BASE_DN:FILTER with {dn} for the user's DN. See LdapGroupRule. The first group found
    # becomes the new user's default group.
    ldap_group_rules: tuple[str, ...] = _setting(
        (), parse_ldap_group_rules, separator="; ",
        help="groups of directory users: fixed:G; member_of:DN; attribute:A; query:DN:FILTER")
    ldap_create_groups: bool = _setting(
        False, parse_bool,
        help="create groups the rules name that do not exist yet (private, rw----); "
             "default: such names are ignored")
    ldap_sync_on_login: bool = _setting(
        True, parse_bool,
        help="at each login, copy names, email, institution and rule-made memberships again")
    cors_origins: tuple[str, ...] = _setting(
        (), parse_names, help="origins allowed to call the API; none by default")
    cookie_secure: bool | None = _setting(None, parse_bool,
                                          help="default: Secure when served over HTTPS")
    max_page_size: int = _setting(1000, parse_positive_int)
    default_page_size: int = _setting(100, parse_positive_int)
    max_query_depth: int = _setting(12, parse_positive_int)
    max_query_tokens: int = _setting(4000, parse_positive_int)
    max_query_aliases: int = _setting(50, parse_positive_int)
    max_query_cost: int = _setting(200_000, parse_positive_int)
    max_list_input: int = _setting(1000, parse_positive_int, help="ids in one list argument")
    max_request_bytes: int = _setting(4_000_000, parse_positive_int,
                                      help="largest GraphQL request body")
    # --- Imports, the repository and jobs.
    path_template: str = _setting(
        "{user}_{user_id}/{yyyy}-{mm}/{dd}/{fileset}", parse_path_template,
        help="where a fileset's originals go below repository/originals; fields: "
             "user, user_id, yyyy, mm, dd, fileset")
    max_upload_bytes: int = _setting(1 << 40, parse_positive_int, help="largest file accepted")
    max_import_files: int = _setting(10_000, parse_positive_int, help="files in one import")
    duplicate_policy: str = _setting("skip", parse_duplicate_policy,
                                     help="same bytes imported again: skip or import")
    max_image_pixels: int = _setting(1 << 42, parse_positive_int,
                                     help="largest image (X*Y*Z*C*T) an import accepts")
    pyramid_threshold: int = _setting(
        3192, parse_positive_int,
        help="planes wider or taller than this get a pyramid unless the file has one")
    thumbnail_size: int = _setting(96, parse_positive_int, help="longest side, pixels")
    job_threads: int = _setting(2, parse_positive_int,
                                help="in-process job threads (no Redis) / per worker")
    job_max_attempts: int = _setting(3, parse_positive_int,
                                     help="runs of a job whose worker died before it fails")
    run_jobs_in_server: bool = _setting(
        True, parse_bool, help="without Redis, run jobs in the server process")
    secret_key: str | None = _setting(
        None, parse_optional_str, secret=True,
        help="signs download and tile URLs; default: generated into data_dir/secret.key "
             "(set the same value on every server)")
    # --- DropBox: <dropbox_dir>/<user>/[<group>/][[<project>/]<dataset>/]<file> is imported.
    watch_in_server: bool = _setting(
        True, parse_bool, help="run the DropBox watcher inside omegraph serve (with its jobs)")
    dropbox_poll: bool = _setting(
        False, parse_bool, help="poll the dropbox instead of inotify (NAS, SMB and NFS shares)")
    dropbox_poll_interval: float = _setting(1.0, parse_positive_float,
                                            help="seconds between polls of the dropbox")
    dropbox_quiet_seconds: float = _setting(
        3.0, parse_positive_float, help="a file is imported once unchanged this long")
    dropbox_rescan_seconds: float = _setting(
        300.0, parse_positive_float, help="full rescans of the dropbox, a safety net for "
                                          "events a filesystem never reported")
    dropbox_default_dataset: str = _setting(
        "DropBox", str, help="dataset of files dropped directly in a user's folder")
    dropbox_group: str | None = _setting(
        None, parse_optional_str,
        help="group of dropped files when the user is a member; default the user's default "
             "group (a <group>/ folder below the user's folder overrides both)")
    dropbox_reimport_changed: bool = _setting(
        False, parse_bool,
        help="import a file that changed after its import as a new image (default: report)")
    dropbox_after_import: str = _setting(
        "leave", parse_after_import,
        help="leave imported files, or move them to <user>/.imported/")
    dropbox_max_importing: int = _setting(
        32, parse_positive_int, help="dropbox imports queued or running at once")
    log_level: str = _setting("INFO", parse_log_level)
    config_file: Path | None = _setting(None, parse_path, help="optional TOML file")

    def __post_init__(self) -> None:
        # Derived defaults are filled in here so the object stays frozen and complete.
        data_dir = self.data_dir or default_data_dir()
        object.__setattr__(self, "data_dir", data_dir)
        if self.database_url is None:
            object.__setattr__(self, "database_url", f"sqlite:///{data_dir / 'omegraph.db'}")
        if self.repository_dir is None:
            object.__setattr__(self, "repository_dir", data_dir / "repository")
        if self.dropbox_dir is None:
            object.__setattr__(self, "dropbox_dir", data_dir / "dropbox")
        if self.default_page_size > self.max_page_size:
            raise SettingsError("default_page_size must not exceed max_page_size")

    @property
    def db_url(self) -> str:
        assert self.database_url is not None
        return self.database_url

    @property
    def is_embedded_database(self) -> bool:
        return self.db_url.startswith("sqlite")

    def masked(self) -> dict[str, str]:
        """Every setting as display text, secrets replaced by ``***``."""
        shown: dict[str, str] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if value is None:
                shown[item.name] = "(unset)"
            elif item.metadata.get("secret"):
                shown[item.name] = _mask(str(value))
            elif isinstance(value, tuple):
                shown[item.name] = item.metadata["separator"].join(value) or "(none)"
            else:
                shown[item.name] = str(value)
        return shown


def _mask(value: str) -> str:
    """Hide a secret; for URLs keep everything but the password visible."""
    if "://" not in value:
        return "***"
    parts = urlsplit(value)
    if parts.password is None:
        return value
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build Settings from environment, config file and keyword overrides (highest)."""
    env = os.environ if environ is None else environ
    fields = {item.name: item for item in dataclasses.fields(Settings)}
    raw_env = {
        name: env[ENV_PREFIX + name.upper()]
        for name in fields
        if ENV_PREFIX + name.upper() in env
    }
    config_path = _config_path(raw_env, overrides, env)
    raw: dict[str, object] = {}
    if config_path is not None:
        raw.update(_read_config_file(config_path, fields))
        raw["config_file"] = config_path
    raw.update(raw_env)
    values: dict[str, Any] = {}
    for name, value in raw.items():
        values[name] = _parse(fields[name], value)
    for name, value in overrides.items():
        if name not in fields:
            raise SettingsError(f"unknown setting {name}")
        values[name] = None if value is None else _parse(fields[name], value)
    return Settings(**values)


def _config_path(raw_env: Mapping[str, str], overrides: Mapping[str, Any],
                 env: Mapping[str, str]) -> Path | None:
    explicit = overrides.get("config_file") or raw_env.get("config_file")
    if explicit:
        path = Path(str(explicit)).expanduser()
        if not path.is_file():
            raise SettingsError(f"config_file: {path} does not exist")
        return path
    data_dir = overrides.get("data_dir") or raw_env.get("data_dir")
    candidate = Path(str(data_dir)).expanduser() if data_dir else default_data_dir()
    candidate = candidate / "omegraph.toml"
    return candidate if candidate.is_file() else None


def _read_config_file(path: Path,
                      fields: Mapping[str, dataclasses.Field[Any]]) -> dict[str, object]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"config_file: cannot read {path}: {exc}") from exc
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise SettingsError(f"config_file: unknown settings {', '.join(unknown)} in {path}")
    return dict(data)


def _parse(item: dataclasses.Field[Any], value: object) -> Any:
    try:
        return item.metadata["parse"](value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{item.name}: {exc}") from exc
