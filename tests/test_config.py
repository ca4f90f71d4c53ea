"""Settings: defaults, helpline.toml, environment (which wins), and clear errors."""

from pathlib import Path

import pytest

from helpline.config import SettingsError, load_settings, redact_url


def test_defaults() -> None:
    settings = load_settings(environ={})
    assert settings.database_url == "sqlite://helpline.db"
    assert settings.plugins is None
    assert settings.agents_see_all_tickets is False


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    config = tmp_path / "helpline.toml"
    config.write_text('port = 9000\nplugins = ["a", "b"]\nagents_see_all_tickets = true\n', encoding="utf-8")
    settings = load_settings(config, environ={"HELPLINE_PORT": "9100"})
    assert settings.port == 9100
    assert settings.plugins == ("a", "b")
    assert settings.agents_see_all_tickets is True


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("all", None), ("ALL", None), ("", ()), ("none", ()), ("a, b", ("a", "b")), ("a,,b,", ("a", "b"))],
)
def test_plugin_lists(raw: str, expected: tuple[str, ...] | None) -> None:
    assert load_settings(environ={"HELPLINE_PLUGINS": raw}).plugins == expected


def test_an_empty_list_in_the_file_means_the_core_alone(tmp_path: Path) -> None:
    config = tmp_path / "helpline.toml"
    config.write_text("plugins = []\n", encoding="utf-8")
    assert load_settings(config, environ={}).plugins == ()


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("PORT", "0", "port must be positive"),
        ("PORT", "65536", "port must be at most 65535"),
        ("LOG_LEVEL", "loud", "log_level must be one of"),
        ("AGENTS_SEE_ALL_TICKETS", "perhaps", "true or false"),
        ("MAX_PAGE_SIZE", "ten", "whole number"),
        ("DEFAULT_PAGE_SIZE", "500", "default_page_size must not exceed max_page_size"),
    ],
)
def test_bad_values_name_the_setting(name: str, value: str, fragment: str) -> None:
    with pytest.raises(SettingsError, match=fragment):
        load_settings(environ={f"HELPLINE_{name}": value})


def test_unknown_keys_in_the_file_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "helpline.toml"
    config.write_text("databse_url = 'x'\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="databse_url"):
        load_settings(config, environ={})


def test_redact_url_hides_only_the_password() -> None:
    assert redact_url("postgres://app:s3cret@db:5432/helpline") == "postgres://app:***@db:5432/helpline"
    assert redact_url("postgres://app@db/helpline") == "postgres://app@db/helpline"
    assert redact_url("sqlite://helpline.db") == "sqlite://helpline.db"
    assert redact_url("postgres://app:p@ss@db/x") == "postgres://app:***@db/x"
