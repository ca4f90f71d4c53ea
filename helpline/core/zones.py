"""IANA time zone names given by users: one rule for what counts as a place's zone."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Zone names that exist in the database but name no place: the host's own zone, and placeholders.
NOT_PLACES = frozenset({"localtime", "Factory", "posixrules"})
# The longest IANA name is about 30 characters; a longer string is no zone, whatever the disk holds.
MAX_ZONE_NAME = 64


def place_zone(name: object) -> ZoneInfo | None:
    """The IANA zone called ``name``, or None when ``name`` is no place's zone.

    ``zoneinfo`` raises four different errors for bad names (not found, a malformed key, a name
    too long for a file name, a name that is no string); callers only need to know "no such zone"
    and say so in their own words, so they all become None here.
    """
    if not isinstance(name, str) or len(name) > MAX_ZONE_NAME:
        return None
    # "posix/X" is another name of X; "right/X" counts leap seconds, which nothing else here does.
    if name.startswith("right/") or name.removeprefix("posix/") in NOT_PLACES:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
