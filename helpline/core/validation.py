"""Input cleaning shared by every entry point (GraphQL, CLI, importers).

Each function returns the cleaned value or raises :class:`ValidationFailed` naming the input field;
callers clean everything before writing anything.
"""

from __future__ import annotations

import json
import re
import unicodedata
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


# Characters that reorder or break a line of text: allowed in message bodies, where people write
# right-to-left text, but not in one-line fields that other people's screens and e-mails show.
LINE_BREAKERS = frozenset("\n\r\u2028\u2029\u0085\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def text_problem(value: str, *, single_line: bool) -> str | None:
    """Why ``value`` cannot be stored as text, or ``None``: control characters (C0, DEL, C1; tabs
    and, in multi-line text, line breaks allowed), text that is not valid Unicode (lone
    surrogates), and in one-line fields line separators and bidirectional overrides."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text"
    allowed = "\t" if single_line else "\t\n\r"
    for char in value:
        if (unicodedata.category(char) == "Cc" and char not in allowed) or (single_line and char in LINE_BREAKERS):
            return f"contains the control character U+{ord(char):04X}"
    return None


def _visible(text: str) -> bool:
    """Whether ``text`` shows anything: not only spaces and invisible format characters (zero-width)."""
    return any(not character.isspace() and unicodedata.category(character) != "Cf" for character in text)


def clean_text(field: str, value: str, *, max_length: int, single_line: bool = False) -> str:
    """Strip ``value``; refuse it empty, longer than ``max_length``, or not plain text (see :func:`text_problem`)."""
    cleaned = value.strip()
    if not _visible(cleaned):
        raise error(field, f"{field} must not be empty", "REQUIRED")
    if len(cleaned) > max_length:
        raise error(field, f"{field} is {len(cleaned)} characters; the limit is {max_length}", "TOO_LONG")
    problem = text_problem(cleaned, single_line=single_line)
    if problem is not None:
        raise error(field, f"{field} {problem}", "INVALID")
    return cleaned


def clean_optional_long_text(field: str, value: str | None, *, max_length: int) -> str:
    """Multi-line text that may be empty (descriptions); ``None`` becomes ``""``."""
    if value is None or not value.strip():
        return ""
    return clean_text(field, value, max_length=max_length)


def clean_optional_text(field: str, value: str | None, *, max_length: int) -> str | None:
    """Like :func:`clean_text` on one line, but empty or ``None`` means "no value"."""
    if value is None or not value.strip():
        return None
    return clean_text(field, value, max_length=max_length, single_line=True)


def clean_tags(field: str, tags: Iterable[str]) -> list[str]:
    """Lower-case, de-duplicate and check tags: letters, digits and ``_-:.``, at most 50 characters.

    Stops at the 51st distinct tag, so an enormous list costs no more than a short one.
    """
    cleaned: set[str] = set()
    for raw in tags:
        tag = raw.strip().lower()
        if not TAG_PATTERN.match(tag):
            raise error(
                field,
                f"tag {raw[:60]!r} is not valid: use 1-50 lower-case letters, digits and _-:. "
                "starting with a letter or digit",
                "INVALID_TAG",
            )
        cleaned.add(tag)
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
    # Depth first: it bounds every walk below (hostile nesting would exhaust the stack).
    problem = _plain_json_problem(value)
    if problem is not None:
        raise error(field, problem, "INVALID")
    try:
        # allow_nan=False: NaN and Infinity are not JSON, and would make every response holding them invalid.
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
        size = len(encoded.encode("utf-8"))
    except (ValueError, UnicodeEncodeError, RecursionError):
        raise error(
            field, "custom fields must be plain JSON: finite numbers and valid Unicode text", "INVALID"
        ) from None
    if size > MAX_CUSTOM_FIELDS_BYTES:
        raise error(
            field,
            f"custom fields take {size} bytes; the limit is {MAX_CUSTOM_FIELDS_BYTES}",
            "TOO_LONG",
        )
    return value


MAX_CUSTOM_FIELDS_DEPTH = 32
MAX_SAFE_INTEGER = 2**53 - 1  # what every JSON reader (and the JSON column types) keeps exactly


def _plain_json_problem(value: Any, depth: int = 0) -> str | None:
    """Why ``value`` is not plain JSON we store (too deep, NUL characters, huge integers), or None.

    Recurses at most ``MAX_CUSTOM_FIELDS_DEPTH`` levels, so hostile nesting cannot exhaust the stack.
    """
    if depth > MAX_CUSTOM_FIELDS_DEPTH:
        return f"custom fields may nest at most {MAX_CUSTOM_FIELDS_DEPTH} levels deep"
    if isinstance(value, str):
        return "custom fields must not contain NUL characters" if "\x00" in value else None
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return None
    if isinstance(value, int):
        return None if abs(value) <= MAX_SAFE_INTEGER else "custom field numbers must be at most 2**53 - 1"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else None
    if items is None:
        return "custom fields must be plain JSON"
    for key, item in items:
        problem = _plain_json_problem(key, depth + 1) if isinstance(key, str) else None
        problem = problem or _plain_json_problem(item, depth + 1)
        if problem:
            return problem
    return None


def clean_email(field: str, value: str) -> str:
    """A plausible e-mail address, lower-cased."""
    cleaned = value.strip().lower()
    if len(cleaned) > 254 or not EMAIL_PATTERN.match(cleaned):
        raise error(field, f"{value!r} is not an e-mail address", "INVALID_EMAIL")
    return cleaned
