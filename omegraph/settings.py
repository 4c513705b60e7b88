"""One typed, immutable settings object read from the environment and an optional TOML file.

Precedence: ``OMEGRAPH_*`` environment variables, then the config file (``OMEGRAPH_CONFIG``,
or ``omegraph.toml`` in the data directory), then the embedded defaults.
"""

from __future__ import annotations

import dataclasses
import os
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


def parse_log_level(value: object) -> str:
    level = str(value).strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError(f"expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got {value!r}")
    return level


def parse_path(value: object) -> Path:
    return Path(str(value)).expanduser()


def _setting(default: Any, parse: Callable[[object], Any], *, secret: bool = False,
             help: str = "") -> Any:
    return field(default=default, metadata={"parse": parse, "secret": secret, "help": help})


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
    auth_order: tuple[str, ...] = _setting(("local",), parse_names,
                                           help="password providers to try, in order")
    login_window: int = _setting(900, parse_positive_int, help="seconds failures are counted")
    login_failures_per_account_address: int = _setting(5, parse_positive_int)
    login_failures_per_address: int = _setting(30, parse_positive_int)
    login_failures_per_account: int = _setting(
        20, parse_positive_int, help="then one attempt per 30 s for that account")
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
                shown[item.name] = ", ".join(value) or "(none)"
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
