"""The bounds a GraphQL document must stay within before anything executes.

Checked in this order, each cheaper than what it protects: the number of tokens while parsing
(`GRAPHQL_MAX_TOKENS`), then graphql-core's own validation (`specified_rules`), then the limits
below on the valid document: depth (`GRAPHQL_MAX_DEPTH`, graphene's `depth_limit_validator`),
aliases (`GRAPHQL_MAX_ALIASES`) and an estimated cost (`GRAPHQL_MAX_COST`), plus introspection
when it is off. The limits run on a valid document only: graphene's depth validator follows
fragment spreads without checking them, so an unknown or cyclic fragment must be refused first.

The cost of a field is 1 plus the cost of what it selects; a connection's selection counts
`first` times (20 when omitted; a `first` given by a variable counts what the variable holds).
A `first` past `GRAPHQL_MAX_FIRST` (100) is refused here too, as `BAD_USER_INPUT`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from graphene.validation import depth_limit_validator
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule

from core.graphql.connections import DEFAULT_FIRST
from core.graphql.errors import BAD_USER_INPUT, FORBIDDEN, QUERY_TOO_COMPLEX

_TOO_MANY_TOKENS = "Document contains more than"


def _code(error: GraphQLError, code: str) -> GraphQLError:
    return GraphQLError(error.message, error.nodes, extensions={"code": code})


def parse_bounded(query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
    """The parsed document, or why it was refused (too many tokens, or a syntax error)."""
    try:
        return parse(query, max_tokens=settings.GRAPHQL_MAX_TOKENS), []
    except GraphQLError as error:
        if _TOO_MANY_TOKENS in error.message:
            message = f"The query has more than {settings.GRAPHQL_MAX_TOKENS} tokens."
            return None, [GraphQLError(message, extensions={"code": QUERY_TOO_COMPLEX})]
        return None, [_code(error, BAD_USER_INPUT)]
    except RecursionError:
        # Nesting so deep that the recursive parser gives up: far past any depth limit.
        return None, [_too_deep()]


def _too_deep() -> GraphQLError:
    message = f"The query nests deeper than {settings.GRAPHQL_MAX_DEPTH} levels."
    return GraphQLError(message, extensions={"code": QUERY_TOO_COMPLEX})


class _AliasLimit(ValidationRule):
    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.aliases = 0

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        if node.alias is not None:
            self.aliases += 1

    def leave_document(self, node: DocumentNode, *_args: Any) -> None:
        limit = settings.GRAPHQL_MAX_ALIASES
        if self.aliases > limit:
            self.report_error(
                GraphQLError(
                    f"The query uses {self.aliases} aliases; at most {limit} are allowed.",
                    extensions={"code": QUERY_TOO_COMPLEX},
                )
            )


class _Introspection(NoSchemaIntrospectionCustomRule):
    def report_error(self, error: GraphQLError) -> None:
        super().report_error(_code(error, FORBIDDEN))


def _cost_rule(variables: dict[str, Any]) -> type[ValidationRule]:
    class CostLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            schema = self.context.schema
            root = schema.get_root_type(node.operation)
            cost = self._cost(node.selection_set, root)
            limit = settings.GRAPHQL_MAX_COST
            if cost > limit:
                self.report_error(
                    GraphQLError(
                        f"The query's estimated cost is {cost}; at most {limit} is allowed.",
                        [node],
                        extensions={"code": QUERY_TOO_COMPLEX, "cost": cost, "maxCost": limit},
                    )
                )

        def _first(self, node: FieldNode) -> int:
            first = DEFAULT_FIRST
            for argument in node.arguments:
                if argument.name.value != "first":
                    continue
                value = argument.value
                if isinstance(value, IntValueNode):
                    first = int(value.value)
                elif isinstance(value, VariableNode):
                    given = variables.get(value.name.value)
                    if isinstance(given, int) and not isinstance(given, bool):
                        first = given
            if not 0 <= first <= settings.GRAPHQL_MAX_FIRST:
                self.report_error(
                    GraphQLError(
                        f"`first` must be between 0 and {settings.GRAPHQL_MAX_FIRST}.",
                        [node],
                        extensions={"code": BAD_USER_INPUT},
                    )
                )
            # An out-of-range `first` is refused above; it does not also count as a cost.
            return min(max(first, 0), settings.GRAPHQL_MAX_FIRST)

        def _cost(self, selection_set: SelectionSetNode | None, parent: Any) -> int:
            if selection_set is None or parent is None:
                return 0
            total = 0
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    field = getattr(parent, "fields", {}).get(selection.name.value)
                    if field is None:  # __typename and the introspection fields
                        total += 1
                        continue
                    child = get_named_type(field.type)
                    inner = self._cost(selection.selection_set, child)
                    multiplier = self._first(selection) if "first" in field.args else 1
                    total += 1 + multiplier * inner
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    target = (
                        self.context.schema.get_type(condition.name.value) if condition else parent
                    )
                    total += self._cost(selection.selection_set, target)
                elif isinstance(selection, FragmentSpreadNode):
                    fragment = self.context.get_fragment(selection.name.value)
                    if fragment is not None:
                        target = self.context.schema.get_type(fragment.type_condition.name.value)
                        total += self._cost(fragment.selection_set, target)
            return total

    return CostLimit


def validate_bounded(
    schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any]
) -> list[GraphQLError]:
    """graphql-core's validation, then (on a valid document) the limits; errors carry codes."""
    try:
        errors = validate(schema, document, specified_rules)
    except RecursionError:
        return [_too_deep()]
    if errors:
        return [_code(error, BAD_USER_INPUT) for error in errors]
    rules: list[type[ValidationRule]] = [
        depth_limit_validator(max_depth=settings.GRAPHQL_MAX_DEPTH),
        _AliasLimit,
        _cost_rule(variables),
    ]
    if not settings.GRAPHQL_INTROSPECTION:
        rules.insert(0, _Introspection)
    try:
        refused = validate(schema, document, rules)
    except RecursionError:
        return [_too_deep()]
    # The first refusal of each code: the depth and introspection rules report every field at
    # fault, and one reason is enough for the client to act on.
    by_code: dict[str, GraphQLError] = {}
    for error in refused:
        code = (error.extensions or {}).get("code") or QUERY_TOO_COMPLEX
        by_code.setdefault(code, error if error.extensions else _code(error, code))
    return list(by_code.values())
