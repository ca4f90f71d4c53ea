"""How event-log entries read in the API: GraphQL names and values, not database ones.

The core stores ``team_id: 3`` and ``status: "open"``; clients see ``teamId: "VGVhbToz"`` and
``status: "OPEN"``, the same spellings every other field of the API uses. Values a user typed
(custom fields, subjects, tags) pass through untouched.
"""

from __future__ import annotations

from typing import Any

from helpline.schema.ids import encode_id

ID_FIELDS = {
    "team_id": "Team",
    "assignee_id": "User",
    "requester_id": "User",
    "organization_id": "Organization",
    "follow_up_of_id": "Ticket",
}
ENUM_FIELDS = frozenset({"status", "priority", "channel", "type", "source"})
VERBATIM_FIELDS = frozenset({"custom_fields", "subject", "category", "tags"})


def api_field_name(field: str) -> str:
    """``assignee_id`` -> ``assigneeId``, ``custom_fields`` -> ``customFields``."""
    head, *rest = field.split("_")
    return head + "".join(part.title() for part in rest)


def api_value(field: str | None, value: Any) -> Any:
    """The API's form of a stored event value for ``field`` (a snapshot dict is converted key by key)."""
    if field is None and isinstance(value, dict):
        return {api_field_name(key): api_value(key, item) for key, item in value.items()}
    if value is None or field is None or field in VERBATIM_FIELDS:
        return value
    if field in ID_FIELDS and isinstance(value, int):
        return encode_id(ID_FIELDS[field], value)
    if field in ENUM_FIELDS and isinstance(value, str):
        return value.upper()
    return value
