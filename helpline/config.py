"""Settings: environment variables over an optional ``helpline.toml`` over defaults.

Every setting has one name. In ``helpline.toml`` it is a top-level key (``database_url = "..."``);
in the environment it is the same name upper-cased with a ``HELPLINE_`` prefix
(``HELPLINE_DATABASE_URL``). The environment wins, so containers can override a checked-in file.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_DATABASE_URL = "sqlite://helpline.db"
ALL_BUILTIN = "all"
NO_PLUGINS = "none"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
MAX_PORT = 65_535
LOG_FORMATS = ("text", "json")


class SettingsError(ValueError):
    """A setting has a value Helpline cannot use; the message names the setting."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything a deployment can configure.

    ``plugins`` is either ``None`` (every built-in plugin plus every installed third-party plugin:
    ``all``, the default) or the exact list of plugin names to enable; an empty list, an empty
    string or ``none`` enable the essential ``core`` plugin alone, which is always on.
    ``agents_see_all_tickets``: when false (the default), agents see the tickets of their teams,
    the tickets assigned to them and the triage queue (tickets with no team yet).
    ``run_jobs_in_process``: ``helpline serve`` also runs plugins' periodic jobs; turn it off when
    separate ``helpline worker`` processes run them. The same switch governs the outbox dispatcher.
    ``migrate_on_start``: ``helpline serve`` and ``helpline worker`` apply pending migrations when
    they start (concurrent starts on PostgreSQL take turns). Turn it off when a deploy step runs
    ``helpline migrate``; until it has, ``/readyz`` answers 503 naming the pending migrations.
    ``outbox_*``: how effects are delivered (see :mod:`helpline.core.outbox`): a failed delivery
    is retried after ``min(cap, base * 2**(attempts-1))`` seconds (less up to half of it, at
    random, so retries spread out) and the effect is dead after ``outbox_max_attempts`` failures.
    A dispatcher claims ``outbox_batch_size`` due effects at a time for ``outbox_lease_seconds``
    (a crashed dispatcher's claims free up when that lease passes), cancels a delivery after
    ``outbox_delivery_timeout_seconds`` (less than the lease), polls every ``outbox_poll_seconds``
    when idle, and on shutdown gives deliveries in flight ``outbox_shutdown_timeout_seconds``.
    """

    database_url: str = DEFAULT_DATABASE_URL
    plugins: tuple[str, ...] | None = None
    agents_see_all_tickets: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    graphiql: bool = True
    max_page_size: int = 100
    default_page_size: int = 20
    max_query_depth: int = 12
    max_query_tokens: int = 4000
    max_aliases: int = 30
    max_list_cost: int = 10_000
    max_subject_length: int = 255
    max_body_length: int = 65_536
    max_request_bytes: int = 1_048_576
    log_level: str = "info"
    log_format: str = "text"
    run_jobs_in_process: bool = True
    migrate_on_start: bool = True
    outbox_max_attempts: int = 10
    outbox_backoff_base_seconds: float = 2.0
    outbox_backoff_cap_seconds: float = 3600.0
    outbox_batch_size: int = 100
    outbox_lease_seconds: float = 60.0
    outbox_delivery_timeout_seconds: float = 30.0
    outbox_poll_seconds: float = 1.0
    outbox_shutdown_timeout_seconds: float = 10.0

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied (validated like any other source)."""
        return _build({**dataclasses.asdict(self), **changes})


_FIELDS = {field.name: field for field in dataclasses.fields(Settings)}


def _coerce(name: str, value: Any) -> Any:
    """Turn a raw value (a TOML value or an environment string) into the field's type."""
    field_type = str(_FIELDS[name].type)
    if name == "plugins":
        if value is None:
            return None
        if isinstance(value, str):
            if value.strip().lower() == ALL_BUILTIN:
                return None
            if value.strip().lower() in ("", NO_PLUGINS):
                return ()  # like `plugins = []` in helpline.toml: the core alone
            value = value.split(",")
        if not isinstance(value, list | tuple):
            raise SettingsError("plugins must be a list of plugin names or 'all'")
        return tuple(str(item).strip() for item in value if str(item).strip())
    if field_type == "bool":
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name} must be true or false, not {value!r}")
    if field_type == "int":
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{name} must be a whole number, not {value!r}") from None
        if number <= 0:
            raise SettingsError(f"{name} must be positive, not {number}")
        if name == "port" and number > MAX_PORT:
            raise SettingsError(f"port must be at most {MAX_PORT}, not {number}")
        return number
    if field_type == "float":
        try:
            if isinstance(value, bool):
                raise TypeError("a boolean is not a number")
            seconds = float(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{name} must be a number, not {value!r}") from None
        if not seconds > 0 or seconds == float("inf"):  # also refuses NaN
            raise SettingsError(f"{name} must be a positive number, not {value!r}")
        return seconds
    if not isinstance(value, str):
        raise SettingsError(f"{name} must be a string, not {value!r}")
    if name == "log_format" and value not in LOG_FORMATS:
        raise SettingsError(f"log_format must be one of {', '.join(LOG_FORMATS)}, not {value!r}")
    if name == "log_level" and value.lower() not in LOG_LEVELS:
        raise SettingsError(f"log_level must be one of {', '.join(LOG_LEVELS)}, not {value!r}")
    return value.lower() if name == "log_level" else value


def _build(raw: Mapping[str, Any]) -> Settings:
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
    settings = Settings(**{name: _coerce(name, value) for name, value in raw.items()})
    if settings.default_page_size > settings.max_page_size:
        raise SettingsError("default_page_size must not exceed max_page_size")
    if settings.outbox_delivery_timeout_seconds >= settings.outbox_lease_seconds:
        # Otherwise a slow delivery could outlive its claim and be delivered twice at once.
        raise SettingsError("outbox_delivery_timeout_seconds must be less than outbox_lease_seconds")
    if settings.outbox_backoff_base_seconds > settings.outbox_backoff_cap_seconds:
        raise SettingsError("outbox_backoff_base_seconds must not exceed outbox_backoff_cap_seconds")
    return settings


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Read settings from ``helpline.toml`` (or ``HELPLINE_CONFIG``), the environment, then overrides.

    ``config_file`` defaults to ``$HELPLINE_CONFIG`` or ``./helpline.toml`` when that exists.
    Keyword ``overrides`` whose value is ``None`` are ignored, so CLI options can be passed as-is.
    Raises :class:`SettingsError` naming the offending setting.
    """
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    path = Path(config_file or environ.get("HELPLINE_CONFIG") or "helpline.toml")
    if path.is_file():
        try:
            raw.update(tomllib.loads(path.read_text(encoding="utf-8")))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: {exc}") from None
    elif config_file is not None or environ.get("HELPLINE_CONFIG"):
        raise SettingsError(f"config file {path} does not exist")
    for name in _FIELDS:
        env_name = f"HELPLINE_{name.upper()}"
        if env_name in environ:
            raw[name] = environ[env_name]
    raw.update({name: value for name, value in overrides.items() if value is not None})
    return _build(raw)


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for printing and logging."""
    scheme, separator, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not separator or not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
