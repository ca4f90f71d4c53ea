"""Checks for query arguments that are not mutation input: filter texts, id lists and instants.

Mutation input goes through the core's validation (userErrors); a bad filter is a malformed
request, so these raise BAD_USER_INPUT naming the argument.
"""

from __future__ import annotations

import datetime as dt

import strawberry

from helpline.core.errors import BadInput
from helpline.core.validation import text_problem
from helpline.schema.ids import decode_id

MAX_FILTER_IDS = 100
EARLIEST_YEAR, LATEST_YEAR = 1900, 9000


def filter_text(value: str | None, field: str, max_length: int = 255) -> str | None:
    """A search text: at most ``max_length`` characters of plain one-line text."""
    if value is None:
        return None
    if len(value) > max_length:
        raise BadInput(f"{field}: at most {max_length} characters")
    problem = text_problem(value, single_line=True)
    if problem is not None:
        raise BadInput(f"{field} {problem}")
    return value


def filter_ids(values: list[strawberry.ID] | None, type_name: str, field: str) -> list[int] | None:
    """Decoded ids of ``type_name``; at most :data:`MAX_FILTER_IDS` of them."""
    if values is None:
        return None
    if len(values) > MAX_FILTER_IDS:
        raise BadInput(f"{field}: at most {MAX_FILTER_IDS} ids")
    return [decode_id(value, type_name, field) for value in values]


def filter_instant(value: dt.datetime | None, field: str) -> dt.datetime | None:
    """An aware UTC instant (naive input is taken as UTC) between the years 1900 and 9000."""
    if value is None:
        return None
    try:
        instant = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    except OverflowError:
        raise BadInput(f"{field}: {value.isoformat()} is out of range") from None
    if not EARLIEST_YEAR <= instant.year <= LATEST_YEAR:
        raise BadInput(f"{field}: give a time between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return instant
