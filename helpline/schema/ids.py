"""Opaque global ids: ``base64("Ticket:42")``. An id names its type, so a Message id given where a
Ticket id is expected is refused with BAD_USER_INPUT instead of silently meaning another row."""

from __future__ import annotations

import base64
import binascii
import re

from helpline.core.errors import BadInput

MAX_ID_LENGTH = 100
MAX_ROW_ID = 2**31 - 1  # the id columns are 32-bit integers
DECIMAL = re.compile(r"[1-9][0-9]{0,9}")  # ASCII digits only, no sign, no leading zero


def encode_id(type_name: str, pk: int) -> str:
    """The global id of row ``pk`` of ``type_name``."""
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def decode_id(value: str, expected_type: str, field: str = "id") -> int:
    """The row id inside a global id; BAD_USER_INPUT when malformed or of another type."""
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
        raise BadInput(f"{field}: malformed id")
    try:
        padded = value + "=" * (-len(value) % 4)
        # validate=True: refuse characters outside the alphabet instead of silently dropping them,
        # so each object has exactly one id.
        decoded = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise BadInput(f"{field}: malformed id {value!r}") from None
    type_name, _, raw_pk = decoded.partition(":")
    if not DECIMAL.fullmatch(raw_pk) or int(raw_pk) > MAX_ROW_ID or encode_id(type_name, int(raw_pk)) != value:
        raise BadInput(f"{field}: malformed id {value!r}")
    if type_name != expected_type:
        raise BadInput(f"{field}: {value!r} is the id of a {type_name or 'unknown type'}, not a {expected_type}")
    return int(raw_pk)


def decode_optional_id(value: str | None, expected_type: str, field: str) -> int | None:
    """Like :func:`decode_id`, passing ``None`` through (it means "none", e.g. unassign)."""
    return None if value is None else decode_id(value, expected_type, field)
