"""Limits on by default: query depth, tokens, aliases, and the cost of nested lists.

The list cost multiplies the page sizes of nested connections (a ``first`` argument; the default
page size when omitted; the maximum page size when it is a variable), so
``tickets(first: 100) { nodes { messages(first: 100) { ... } } }`` costs 100 + 100 * 100.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    get_named_type,
)
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from helpline.config import Settings


def list_cost_rule(settings: Settings) -> type[ValidationRule]:
    """A validation rule refusing operations whose nested list cost exceeds the configured cap."""

    class ListCostRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            schema = self.context.schema
            root = schema.get_root_type(node.operation)
            if root is None:
                return
            cost = self._cost(node.selection_set, root, 1, 0)
            if cost > settings.max_list_cost:
                self.report_error(
                    GraphQLError(
                        f"query too costly: its nested lists could return {cost} objects; "
                        f"the limit is {settings.max_list_cost}. Ask for smaller pages.",
                        node,
                        extensions={"code": "QUERY_TOO_COSTLY"},
                    )
                )

        def _cost(
            self,
            selection_set: SelectionSetNode | None,
            parent: GraphQLNamedType,
            multiplier: int,
            depth: int,
        ) -> int:
            if selection_set is None or depth > 50 or not isinstance(parent, GraphQLObjectType):
                return 0
            total = 0
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    field = parent.fields.get(selection.name.value)
                    if field is None:
                        continue
                    child_multiplier = multiplier
                    if "first" in field.args:
                        child_multiplier = multiplier * self._page_size(selection)
                        total += child_multiplier
                    total += self._cost(
                        selection.selection_set,
                        get_named_type(field.type),
                        child_multiplier,
                        depth + 1,
                    )
                elif isinstance(selection, InlineFragmentNode):
                    target = (
                        self.context.schema.get_type(selection.type_condition.name.value)
                        if selection.type_condition
                        else parent
                    )
                    total += self._cost(selection.selection_set, target or parent, multiplier, depth + 1)
                elif isinstance(selection, FragmentSpreadNode):
                    fragment = self.context.get_fragment(selection.name.value)
                    if fragment is not None:
                        target = self.context.schema.get_type(fragment.type_condition.name.value)
                        total += self._cost(fragment.selection_set, target or parent, multiplier, depth + 1)
            return total

        @staticmethod
        def _page_size(node: FieldNode) -> int:
            for argument in node.arguments or ():
                if argument.name.value == "first":
                    if isinstance(argument.value, IntValueNode):
                        return max(int(argument.value.value), 1)
                    return settings.max_page_size
            return settings.default_page_size

    return ListCostRule


def default_extensions(
    settings: Settings,
) -> list[type[SchemaExtension] | Callable[[], SchemaExtension]]:
    """The extensions every Helpline schema runs (caches first: they save re-parsing)."""
    return [
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
        lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
        lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
        lambda: AddValidationRules([list_cost_rule(settings)]),
    ]
