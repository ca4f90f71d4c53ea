"""Input cleaning shared by every entry point (GraphQL, CLI, importers).

Each function returns the cleaned value or raises :class:`ValidationFailed` naming the input field;
callers clean everything before writing anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from helpline.core.errors import UserError, ValidationFailed

TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_\-:.]{0,49}$")
MAX_TAGS = 50
MAX_CUSTOM_FIELDS_BYTES = 16_384
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def error(field: str, message: str, code: str) -> ValidationFailed:
    """A one-error :class:`ValidationFailed` for input field ``field``."""
    return ValidationFailed([UserError(("input", field), message, code)])


def clean_text(field: str, value: str, *, max_length: int, single_line: bool = False) -> str:
    """Strip ``value``; refuse it empty, longer than ``max_length``, or with control characters."""
    cleaned = value.strip()
    if not cleaned:
        raise error(field, f"{field} must not be empty", "REQUIRED")
    if len(cleaned) > max_length:
        raise error(field, f"{field} is {len(cleaned)} characters; the limit is {max_length}", "TOO_LONG")
    allowed = "\t" if single_line else "\t\n\r"
    if any(ord(char) < 32 and char not in allowed for char in cleaned) or "\x00" in cleaned:
        raise error(field, f"{field} contains control characters", "INVALID")
    return cleaned


def clean_optional_text(field: str, value: str | None, *, max_length: int) -> str | None:
    """Like :func:`clean_text` on one line, but empty or ``None`` means "no value"."""
    if value is None or not value.strip():
        return None
    return clean_text(field, value, max_length=max_length, single_line=True)


def clean_tags(field: str, tags: Iterable[str]) -> list[str]:
    """Lower-case, de-duplicate and check tags: letters, digits and ``_-:.``, at most 50 characters."""
    cleaned: list[str] = []
    for raw in tags:
        tag = raw.strip().lower()
        if not TAG_PATTERN.match(tag):
            raise error(
                field,
                f"tag {raw!r} is not valid: use 1-50 lower-case letters, digits and _-:. "
                "starting with a letter or digit",
                "INVALID_TAG",
            )
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise error(field, f"at most {MAX_TAGS} tags per ticket", "TOO_MANY")
    return sorted(cleaned)


def clean_custom_fields(field: str, value: Any) -> dict[str, Any]:
    """A JSON object of at most 16 KiB with non-empty string keys."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise error(field, "custom fields must be a JSON object", "INVALID")
    if any(not isinstance(key, str) or not key.strip() or len(key) > 100 for key in value):
        raise error(
            field,
            "custom field names must be non-empty strings of at most 100 characters",
            "INVALID",
        )
    size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    if size > MAX_CUSTOM_FIELDS_BYTES:
        raise error(
            field,
            f"custom fields take {size} bytes; the limit is {MAX_CUSTOM_FIELDS_BYTES}",
            "TOO_LONG",
        )
    return value


def clean_email(field: str, value: str) -> str:
    """A plausible e-mail address, lower-cased."""
    cleaned = value.strip().lower()
    if len(cleaned) > 254 or not EMAIL_PATTERN.match(cleaned):
        raise error(field, f"{value!r} is not an e-mail address", "INVALID_EMAIL")
    return cleaned
