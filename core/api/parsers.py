"""The REST layer's JSON parser: DRF's, with the nesting bound of `core.json_bounds`.

A body nested deeper than `core.json_bounds.MAX_DEPTH` is a 400 `json_too_deep` before `json`
recurses into it (DRF's own parser answers about a thousand levels with a 500). Every view that
reads JSON, and any interface that parses its body through DRF's parsers (GraphQL), goes through
this class: it is `DEFAULT_PARSER_CLASSES`.
"""

from __future__ import annotations

import codecs
import json

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json as drf_json

from core import json_bounds

_UTF8 = frozenset({"utf-8", "ascii"})


class JSONParser(parsers.JSONParser):
    """`application/json` bodies, refused with a 400 when they nest too deeply."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
            # The bound reads UTF-8 bytes; text of another charset is re-encoded for it.
            json_bounds.check_depth(raw if codecs.lookup(encoding).name in _UTF8 else text)
            parse_constant = drf_json.strict_constant if self.strict else None
            return json.loads(text, parse_constant=parse_constant)
        except json_bounds.JSONTooDeep as exc:
            raise ParseError(
                f"JSON parse error - nested deeper than {exc.limit} levels.",
                code=json_bounds.JSONTooDeep.code,
            ) from exc
        except ValueError as exc:  # UnicodeDecodeError included
            raise ParseError(f"JSON parse error - {exc}") from exc
