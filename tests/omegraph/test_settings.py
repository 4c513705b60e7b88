from pathlib import Path

import pytest

from omegraph.settings import SettingsError, load_settings


def test_defaults_are_the_embedded_setup_in_the_data_directory(tmp_path: Path) -> None:
    settings = load_settings({"OMEGRAPH_DATA_DIR": str(tmp_path)})

    assert settings.data_dir == tmp_path
    assert settings.database_url == f"sqlite:///{tmp_path / 'omegraph.db'}"
    assert settings.repository_dir == tmp_path / "repository"
    assert settings.dropbox_dir == tmp_path / "dropbox"
    assert settings.redis_url is None


def test_default_data_dir_follows_xdg_data_home(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert load_settings({}).data_dir == tmp_path / "omegraph"


def test_environment_overrides_config_file_which_overrides_defaults(tmp_path: Path) -> None:
    config = tmp_path / "omegraph.toml"
    config.write_text('port = 5000\nmax_page_size = 50\nlog_level = "debug"\n')

    settings = load_settings({"OMEGRAPH_DATA_DIR": str(tmp_path), "OMEGRAPH_PORT": "6000",
                              "OMEGRAPH_DEFAULT_PAGE_SIZE": "20"})

    assert settings.port == 6000
    assert settings.max_page_size == 50
    assert settings.default_page_size == 20
    assert settings.log_level == "DEBUG"
    assert settings.config_file == config


def test_secrets_are_masked_but_urls_stay_readable(tmp_path: Path) -> None:
    settings = load_settings({
        "OMEGRAPH_DATA_DIR": str(tmp_path),
        "OMEGRAPH_DATABASE_URL": "postgresql+psycopg://og:hunter2@db.example.org/og",
        "OMEGRAPH_ADMIN_PASSWORD": "s3cret-admin",
    })

    shown = settings.masked()

    assert shown["database_url"] == "postgresql+psycopg://og:***@db.example.org/og"
    assert shown["admin_password"] == "***"
    assert "hunter2" not in str(shown) and "s3cret-admin" not in str(shown)


@pytest.mark.parametrize(("env", "message"), [
    ({"OMEGRAPH_PORT": "-1"}, "port"),
    ({"OMEGRAPH_PORT": "eighty"}, "port"),
    ({"OMEGRAPH_COOKIE_SECURE": "maybe"}, "cookie_secure"),
    ({"OMEGRAPH_CONFIG_FILE": "/nonexistent/omegraph.toml"}, "does not exist"),
    ({"OMEGRAPH_DEFAULT_PAGE_SIZE": "5000"}, "default_page_size"),
])
def test_bad_values_are_rejected_with_the_setting_named(env: dict[str, str], message: str,
                                                        tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({"OMEGRAPH_DATA_DIR": str(tmp_path), **env})


def test_unknown_keys_in_the_config_file_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "omegraph.toml").write_text("prot = 1\n")
    with pytest.raises(SettingsError, match="unknown settings prot"):
        load_settings({"OMEGRAPH_DATA_DIR": str(tmp_path)})
