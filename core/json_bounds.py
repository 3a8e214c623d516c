"""JSON that cannot exhaust the parser: a nesting-depth bound checked before parsing.

Python's `json` module recurses once per nested array or object, and about a thousand levels
(ten kilobytes of `[`) raise `RecursionError`: a 500 for anyone who sends one. `loads` refuses
a document nested deeper than `MAX_DEPTH` with `JSONTooDeep` (a `ValueError`, as every other
JSON syntax error) before `json` sees it. Any interface (REST, GraphQL, a task reading a
payload) parses untrusted JSON through it.

The check (`exceeds_depth`) is a few passes over the bytes at C speed, and all but the first run
only when the body holds more than `MAX_DEPTH` brackets at all: no ordinary body of this API
comes near that (`bench/json_depth.py` measures what it costs).
"""

from __future__ import annotations

import json
from typing import Any

# Far above anything the API reads (a job alert's filters are two levels deep, a GraphQL
# request's variables a few more) and far below where `json` recurses out of stack.
MAX_DEPTH = 100

_NOT_A_BRACKET = bytes(c for c in range(256) if c not in b"[]{}")
# Both kinds of bracket as one, so that one pass below removes exactly one level.
_ONE_KIND = bytes.maketrans(b"[{]}", b"(())")


class JSONTooDeep(ValueError):
    """The document nests arrays and objects deeper than allowed."""

    code = "json_too_deep"

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"JSON nested deeper than {limit} levels")


def exceeds_depth(data: bytes | str, limit: int) -> bool:
    """Whether `data` nests arrays and objects deeper than `limit`, brackets in strings not
    counted. Every step is a C-speed pass over the bytes; none recurses.

    With the escapes `\\\\` and `\\"` removed, the quotes alternate between opening and closing a
    string, so every other piece between quotes is outside strings. Its brackets, all of one
    kind, form a sequence in which one `replace("()", "")` removes every innermost pair and
    nothing else (it does not rescan what it joined): a sequence still holding a pair after
    `limit` passes nests deeper. Unbalanced brackets (malformed JSON) are the parser's to refuse
    (or refused here, when they open more than `limit` in a row).
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw.translate(None, _NOT_A_BRACKET)) <= limit:
        return False  # too few brackets to nest that deep: an ordinary body stops here
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(unescaped.split(b'"')[::2]).translate(_ONE_KIND, _NOT_A_BRACKET)
    # A run of more than `limit` openers nests too deep at once (the hostile body, and what is
    # left of a deep one after a few passes), found by one substring search.
    too_deep_run = b"(" * (limit + 1)
    for _ in range(limit):
        if too_deep_run in brackets:
            return True
        shorter = brackets.replace(b"()", b"")
        if len(shorter) == len(brackets):
            return False
        brackets = shorter
    return b"()" in brackets


def check_depth(data: bytes | str, *, limit: int = MAX_DEPTH) -> None:
    """Raise `JSONTooDeep` when `data` nests deeper than `limit`; cheap for ordinary bodies.

    Bytes must be UTF-8 (or ASCII): pass the decoded text of any other encoding.
    """
    if exceeds_depth(data, limit):
        raise JSONTooDeep(limit)


def loads(data: bytes | str, *, limit: int = MAX_DEPTH, **kwargs: Any) -> Any:
    """`json.loads` that refuses, as `JSONTooDeep`, a document nested deeper than `limit`."""
    check_depth(data, limit=limit)
    return json.loads(data, **kwargs)
