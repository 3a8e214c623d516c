"""The bounds a GraphQL document must stay within before anything executes.

Checked in this order, each cheaper than what it protects: the number of tokens while parsing
(`GRAPHQL_MAX_TOKENS`), then graphql-core's own validation (`specified_rules`), then on the valid
document the depth (`GRAPHQL_MAX_DEPTH`, graphene's `depth_limit_validator`), the aliases
(`GRAPHQL_MAX_ALIASES`) and introspection when it is off; these depend on the document alone and
their outcome is remembered per document (`check_document`). Last, for the request's variables,
the estimated cost (`GRAPHQL_MAX_COST`, `check_cost`). The limits run on a valid document only:
graphene's depth validator follows fragment spreads without checking them, so an unknown or
cyclic fragment must be refused first.

The cost of a field is 1 plus the cost of what it selects; a connection's selection counts
`first` times (20 when omitted; a `first` given by a variable counts what the variable holds).
A `first` past `GRAPHQL_MAX_FIRST` (100) is refused there too, as `BAD_USER_INPUT`.
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from graphene.validation import depth_limit_validator
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
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


class _Cost:
    """The estimated cost of one operation for these variables, and the out-of-range `first`s.

    A plain walk of the (already valid) document: it depends on the variables, so it runs on
    every request, and a visitor with type information would cost more than the walk."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: dict) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.errors: list[GraphQLError] = []

    def check(self, operation: OperationDefinitionNode) -> list[GraphQLError]:
        cost = self.cost(operation.selection_set, self.schema.get_root_type(operation.operation))
        limit = settings.GRAPHQL_MAX_COST
        if cost > limit:
            self.errors.append(
                GraphQLError(
                    f"The query's estimated cost is {cost}; at most {limit} is allowed.",
                    [operation],
                    extensions={"code": QUERY_TOO_COMPLEX, "cost": cost, "maxCost": limit},
                )
            )
        return self.errors

    def first(self, node: FieldNode) -> int:
        first = DEFAULT_FIRST
        for argument in node.arguments:
            if argument.name.value != "first":
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                first = int(value.value)
            elif isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
                if isinstance(given, int) and not isinstance(given, bool):
                    first = given
        if not 0 <= first <= settings.GRAPHQL_MAX_FIRST:
            self.errors.append(
                GraphQLError(
                    f"`first` must be between 0 and {settings.GRAPHQL_MAX_FIRST}.",
                    [node],
                    extensions={"code": BAD_USER_INPUT},
                )
            )
        # An out-of-range `first` is refused above; it does not also count as a cost.
        return min(max(first, 0), settings.GRAPHQL_MAX_FIRST)

    def cost(self, selection_set: SelectionSetNode | None, parent: Any) -> int:
        if selection_set is None or parent is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                field = getattr(parent, "fields", {}).get(selection.name.value)
                if field is None:  # __typename and the introspection fields
                    total += 1
                    continue
                inner = self.cost(selection.selection_set, get_named_type(field.type))
                multiplier = self.first(selection) if "first" in field.args else 1
                total += 1 + multiplier * inner
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.cost(selection.selection_set, target)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                target = self.schema.get_type(fragment.type_condition.name.value)
                total += self.cost(fragment.selection_set, target)
        return total


def _static_checks(schema: GraphQLSchema, document: DocumentNode) -> list[GraphQLError]:
    """graphql-core's validation, then (on a valid document) the limits that do not depend on
    the variables; errors carry codes."""
    try:
        errors = validate(schema, document, specified_rules)
    except RecursionError:
        return [_too_deep()]
    if errors:
        return [_code(error, BAD_USER_INPUT) for error in errors]
    rules: list[type[ValidationRule]] = [
        depth_limit_validator(max_depth=settings.GRAPHQL_MAX_DEPTH),
        _AliasLimit,
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


# Documents longer than this are checked every time rather than remembered.
CACHED_DOCUMENT_CHARS = 10_000


@functools.lru_cache(maxsize=256)
def _checked(
    schema: GraphQLSchema, query: str, limits: tuple
) -> tuple[DocumentNode | None, tuple[GraphQLError, ...]]:
    document, refused = parse_bounded(query)
    if document is not None:
        refused = _static_checks(schema, document)
    return document, tuple(refused)


def check_document(
    schema: GraphQLSchema, query: str
) -> tuple[DocumentNode | None, list[GraphQLError]]:
    """The parsed document and why it is refused (nothing when it is not), for every check that
    does not depend on the variables.

    Clients send the same few documents again and again, and parsing and validating cost more
    than executing a small query; so the outcome for a short document is remembered, per
    process, for the limits in force (a test or an operator changing one gets fresh checks).
    """
    limits = (
        settings.GRAPHQL_MAX_TOKENS,
        settings.GRAPHQL_MAX_DEPTH,
        settings.GRAPHQL_MAX_ALIASES,
        settings.GRAPHQL_INTROSPECTION,
    )
    if len(query) > CACHED_DOCUMENT_CHARS:
        return _checked.__wrapped__(schema, query, limits)
    document, refused = _checked(schema, query, limits)
    return document, list(refused)


def check_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
) -> list[GraphQLError]:
    """The operation's estimated cost and its `first` arguments, for these variables."""
    return _Cost(schema, document, variables).check(operation)
