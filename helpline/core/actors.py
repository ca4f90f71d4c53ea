"""Who did something: a person, an automation, or the system itself."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from helpline.core.enums import MessageSource, Role

if TYPE_CHECKING:
    from helpline.core.models import User


@dataclasses.dataclass(frozen=True)
class Actor:
    """The cause of a change, recorded in the event log.

    ``user`` is the person (``None`` for automations and the system); ``source`` says whether a
    human, an automation, a bot or an automatic reply acted; ``name`` labels non-human actors
    (the rule or plugin name).
    """

    user: User | None
    source: MessageSource = MessageSource.HUMAN
    name: str = ""

    @property
    def user_id(self) -> int | None:
        """The acting person's id, or ``None``."""
        return self.user.id if self.user is not None else None

    @property
    def role(self) -> Role | None:
        """The acting person's role, or ``None`` for non-human actors."""
        return self.user.role if self.user is not None else None

    @property
    def is_staff(self) -> bool:
        """True for agents and admins, and for automations and the system (they act for staff)."""
        return self.user is None or self.user.role in (Role.AGENT, Role.ADMIN)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """An actor for the core's own housekeeping."""
        return cls(user=None, source=MessageSource.AUTOMATION, name=name)
