"""Holds the composed ``Ticket`` type while a schema is being built.

Core types refer to ``Ticket`` lazily (``strawberry.lazy("helpline.schema.composed")``), and
:func:`helpline.schema.compose.compose_schema` sets :data:`Ticket` to the core base plus the fields
plugins contribute, just before building the schema. strawberry resolves lazy types while it
builds a schema, never while it executes one, so schemas built earlier keep their own ``Ticket``.
"""

from __future__ import annotations

from typing import Any

Ticket: Any = None
