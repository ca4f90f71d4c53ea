"""The graphql-transport-ws handler Helpline serves subscriptions with: strawberry's, made strict.

- Only subscriptions run over a websocket. A websocket's context lives as long as the connection,
  so a query or mutation run on it would use the viewer of the moment it connected (a revoked
  token could still mint tokens) and loaders that outlive changes of visibility. Queries and
  mutations answer an ``error`` message (code BAD_REQUEST) and run nothing: send them over HTTP.
- A malformed ``subscribe`` payload or document answers an ``error`` message instead of dropping
  the socket, and an operation that fails before its first result (a limit refused it) answers an
  ``error`` message with the error's code instead of a bare ``complete`` and a logged traceback.
"""

from __future__ import annotations

import logging
from contextlib import aclosing
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from graphql.error import GraphQLSyntaxError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import CompleteMessage, SubscribeMessage

from helpline.core.errors import HelplineError

logger = logging.getLogger("helpline.websocket")
MAX_DOCUMENT_CHARACTERS = 100_000


class HelplineTransportWSHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """See the module docstring."""

    async def _refuse(self, operation_id: str, message: str, code: str) -> None:
        error = GraphQLError(message, extensions={"code": code})
        await self.send_message({"id": operation_id, "type": "error", "payload": [error.formatted]})

    def _problem(self, message: SubscribeMessage) -> tuple[str, str] | None:
        """Why this subscribe message cannot run, as (message, code), or None when it may."""
        payload = message.get("payload")
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return "payload must be an object with a query string", "BAD_REQUEST"
        variables, name = payload.get("variables"), payload.get("operationName")
        if variables is not None and not isinstance(variables, dict):
            return "variables must be an object", "BAD_REQUEST"
        if name is not None and not isinstance(name, str):
            return "operationName must be a string", "BAD_REQUEST"
        query = payload["query"]
        if len(query) > MAX_DOCUMENT_CHARACTERS:
            return f"the document is longer than {MAX_DOCUMENT_CHARACTERS} characters", "QUERY_TOO_COMPLEX"
        try:
            document = parse(query, max_tokens=20_000)
        except GraphQLSyntaxError as exc:
            return exc.message, "GRAPHQL_PARSE_FAILED"
        except (GraphQLError, RecursionError):
            return "the document could not be parsed", "GRAPHQL_PARSE_FAILED"
        operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
        chosen = [node for node in operations if name is None or (node.name and node.name.value == name)]
        if len(chosen) != 1:
            return "give exactly one operation (or its operationName)", "BAD_REQUEST"
        if chosen[0].operation != OperationType.SUBSCRIPTION:
            return "only subscriptions are served over websockets; send queries and mutations over HTTP", "BAD_REQUEST"
        return None

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        """Check the operation before strawberry runs it (see the module docstring)."""
        operation_id = message.get("id")
        if self.connection_acknowledged and isinstance(operation_id, str) and operation_id not in self.operations:
            problem = self._problem(message)
            if problem is not None:
                await self._refuse(operation_id, *problem)
                return
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Any) -> None:
        """Strawberry's, answering an ``error`` message (not a bare ``complete``) when it fails outright."""
        try:
            result_source = await self.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=self.context,
                root_value=self.root_value,
                operation_name=operation.operation_name,
            )
            async with aclosing(result_source):
                await self._send_result_stream(operation, result_source)
            await operation.send_operation_message(CompleteMessage(id=operation.id, type="complete"))
        except _OperationStreamClosed:
            return
        except HelplineError as exc:
            await self._send_failure(operation, str(exc), exc.code)
        except GraphQLError as exc:
            await self._send_failure(operation, exc.message, str((exc.extensions or {}).get("code", "BAD_REQUEST")))
        except Exception:
            logger.exception("a subscription failed")
            await self._send_failure(operation, "Unexpected error.", "INTERNAL_SERVER_ERROR")

    async def _send_failure(self, operation: Any, message: str, code: str) -> None:
        self.operations.pop(operation.id, None)
        error = GraphQLError(message, extensions={"code": code})
        try:
            await operation.send_operation_message({"id": operation.id, "type": "error", "payload": [error.formatted]})
        except Exception:  # the socket is gone: nothing left to tell
            logger.debug("could not report a failed operation", exc_info=True)
