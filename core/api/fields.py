"""Strict JSON fields shared by every REST shape: `"1"` is not an integer, `"true"` is not a
boolean, `1` is not a string, so the OpenAPI schema means what it says."""

from __future__ import annotations

from typing import Any

from django.core.validators import URLValidator
from rest_framework import serializers

MAX_INT = 2_147_483_647
# The longest credentials an account can have (registration and password changes refuse more).
USERNAME_MAX_LENGTH = 150
PASSWORD_MAX_LENGTH = 128


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean, nothing else ("true", 1 and "on" are refused)."""

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, nothing else ("1", 1.0 and true are refused)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id given as a JSON integer; unknown or out-of-range ids are a field error."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= data <= 2**63 - 1:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class _StrictText:
    """A JSON string, nothing else: DRF's text fields turn 1 and 1.5 into "1" and "1.5"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(_StrictText, serializers.CharField):
    pass


class StrictEmailField(_StrictText, serializers.EmailField):
    pass


class StrictSlugField(_StrictText, serializers.SlugField):
    pass


class StrictRegexField(_StrictText, serializers.RegexField):
    pass


class HttpUrlField(_StrictText, serializers.URLField):
    """An absolute http(s) URL of bounded length."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 500)
        super().__init__(**kwargs)
        # Replace DRF's default validator, which also accepts ftp:// and ftps://.
        self.validators = [v for v in self.validators if not isinstance(v, URLValidator)]
        self.validators.append(
            URLValidator(schemes=["http", "https"], message="Enter an http:// or https:// URL.")
        )
