"""How errors reach clients: a code on every error, and never a traceback.

- Errors the core raises on purpose (:class:`~helpline.core.errors.HelplineError`) keep their
  message and get ``extensions.code`` (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, CONFLICT,
  BAD_USER_INPUT, PLUGIN_ERROR).
- Syntax errors get GRAPHQL_PARSE_FAILED, schema validation errors (unknown fields, bad enum
  literals, limits) GRAPHQL_VALIDATION_FAILED, bad variable values BAD_USER_INPUT.
- Anything else is logged with its traceback on the server and shown as "Unexpected error." with
  code INTERNAL_SERVER_ERROR.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError

from helpline.core.errors import HelplineError, PluginError, UserError, ValidationFailed

logger = logging.getLogger("helpline.graphql")
T = TypeVar("T")


@strawberry.type(name="UserError", description="An expected problem with one input field; nothing was changed.")
class UserErrorType:
    field: list[str] = strawberry.field(description="Path of the input field, e.g. ['input', 'subject'].")
    message: str
    code: str = strawberry.field(description="Stable machine-readable code, e.g. REQUIRED, TOO_LONG.")

    @classmethod
    def from_core(cls, error: UserError) -> UserErrorType:
        """Convert the core's :class:`UserError`."""
        return cls(field=list(error.field), message=error.message, code=error.code)


async def attempt(action: Awaitable[T]) -> tuple[T | None, list[UserErrorType]]:
    """Run a service call for a mutation; turn :class:`ValidationFailed` into userErrors.

    Returns ``(result, [])`` on success and ``(None, user_errors)`` when the input was refused (the
    service wrote nothing). Other errors propagate and become top-level GraphQL errors.
    """
    try:
        return await action, []
    except ValidationFailed as exc:
        return None, [UserErrorType.from_core(error) for error in exc.errors]


def _classify(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, HelplineError):
        extensions = {**(error.extensions or {}), "code": original.code}
        if isinstance(original, PluginError):
            extensions["plugin"] = original.plugin
        return GraphQLError(original.message, nodes=error.nodes, path=error.path, extensions=extensions)
    bad_variable = error.path is None and error.message.startswith("Variable")
    if original is not None and not bad_variable:
        # Raised by our code (a resolver, an extension) and not on purpose: a bug. Log it; show nothing.
        logger.error("unexpected error in %s", ".".join(map(str, error.path or [])), exc_info=original)
        return GraphQLError(
            "Unexpected error.",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR"},
        )
    if error.extensions and "code" in error.extensions:
        return error
    # Errors without a path come from the request itself: parsing, validation, variable values.
    if error.message.startswith("Syntax Error"):
        code = "GRAPHQL_PARSE_FAILED"
    elif bad_variable:
        code = "BAD_USER_INPUT"
    else:
        code = "GRAPHQL_VALIDATION_FAILED"
    return GraphQLError(
        error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), "code": code},
    )


class HelplineSchema(strawberry.Schema):
    """A strawberry schema that gives every error a code and never leaks an unexpected one.

    Errors are classified where strawberry hands back every result, parse and validation
    failures included (an extension's ``on_operation`` misses errors raised while parsing).
    """

    async def _handle_execution_result(self, context: Any, result: Any, *args: Any, **kwargs: Any) -> Any:
        handled = await super()._handle_execution_result(context, result, *args, **kwargs)
        errors = getattr(handled, "errors", None)
        if errors:
            handled.errors = [_classify(error) for error in errors]
        return handled

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Expected errors are not logged; :func:`_classify` logs unexpected ones with their traceback."""
