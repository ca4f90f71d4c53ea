"""Limits on by default: document size, query depth, tokens, aliases, and the cost of nested lists.

Before any validation rule runs, :class:`DocumentGuard` expands fragments (each one once,
memoised) and refuses fragment cycles and documents that would expand to more than
``MAX_EXPANDED_FIELDS`` fields. Without it, a 100-byte query of fragments that spread each other
twice makes every rule that walks fragments (depth, aliases, cost) do 2^n work.

The list cost multiplies the page sizes of nested connections (a ``first`` argument; the default
page size when omitted; the maximum page size when it is a variable), so
``tickets(first: 100) { nodes { messages(first: 100) { ... } } }`` costs 100 + 100 * 100.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
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
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from helpline.config import Settings

MAX_EXPANDED_FIELDS = 5_000


class _TooComplex(Exception):
    pass


def expanded_field_count(document: DocumentNode, cap: int = MAX_EXPANDED_FIELDS) -> int:
    """How many fields ``document`` selects with every fragment spread expanded (stops past ``cap``).

    Each fragment is sized once; a fragment that spreads itself, directly or not, raises ``_TooComplex``.
    """
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    sizes: dict[str, int] = {}
    open_fragments: set[str] = set()

    def fragment_size(name: str) -> int:
        if name in sizes:
            return sizes[name]
        if name in open_fragments:
            raise _TooComplex(f"fragment {name!r} spreads itself")
        fragment = fragments.get(name)
        if fragment is None:
            return 0  # unknown fragments are reported by validation
        open_fragments.add(name)
        sizes[name] = selection_size(fragment.selection_set)
        open_fragments.discard(name)
        return sizes[name]

    def selection_size(selection_set: SelectionSetNode | None) -> int:
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += 1 + selection_size(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                total += selection_size(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += fragment_size(selection.name.value)
            if total > cap:
                return total
        return total

    total = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            total += selection_size(definition.selection_set)
            if total > cap:
                break
    return total


class DocumentGuard(SchemaExtension):
    """Refuse fragment cycles and oversized expansions right after parsing, before validation."""

    def on_parse(self) -> Iterator[None]:
        """Check the parsed document; raising here skips validation and execution entirely."""
        yield
        document = self.execution_context.graphql_document
        if document is None:
            return
        try:
            size = expanded_field_count(document)
        except (_TooComplex, RecursionError) as exc:
            reason = str(exc) if isinstance(exc, _TooComplex) else "fragments nest too deeply"
            raise GraphQLError(f"query refused: {reason}", extensions={"code": "QUERY_TOO_COMPLEX"}) from None
        if size > MAX_EXPANDED_FIELDS:
            raise GraphQLError(
                f"query refused: with its fragments expanded it selects more than {MAX_EXPANDED_FIELDS} fields",
                extensions={"code": "QUERY_TOO_COMPLEX"},
            )


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


def default_extensions(settings: Settings) -> list[type[SchemaExtension] | Callable[[], SchemaExtension]]:
    """The extensions every Helpline schema runs (caches first: they save re-parsing).

    The validation rules are built once here: ValidationCache keys on the rule classes, and rules
    built per request (as QueryDepthLimiter and MaxAliasesLimiter do) would never hit the cache.
    Extension instances are new per request (strawberry stores the request on them); the caches
    behind ParserCache and ValidationCache are shared per maxsize.
    """
    rules = [
        depth_rule(settings.max_query_depth, None),
        aliases_rule(settings.max_aliases),
        list_cost_rule(settings),
    ]
    return [
        lambda: ParserCache(maxsize=256),
        DocumentGuard,
        lambda: ValidationCache(maxsize=256),
        lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
        lambda: AddValidationRules(rules),
    ]
