"""v2's registration: one `role` field, `"employer"` or `"job_seeker"`.

v1's body carries two booleans of which exactly one must be true (a `oneOf` that generated
clients handle badly). v2 takes the role as an enum and refuses the booleans with a field error
naming `role`. Validation past the role, and the service underneath, are v1's: the serializer
hands `RegisterView` the same validated data as v1's.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from core.accounts.models import Role
from core.api.accounts import RegisterSerializer, RegisterView, UserSerializer
from core.api.schema import validation_error_response
from core.api.versions import V2

_V1_FIELDS = ("is_employer", "is_job_seeker")


class RoleRegistrationSerializer(RegisterSerializer):
    """Registration as an employer or a job seeker, named by `role`."""

    is_employer = None
    is_job_seeker = None
    role = serializers.ChoiceField(
        choices=Role.choices, help_text="`employer` posts jobs; `job_seeker` applies to them."
    )

    def to_internal_value(self, data):
        if isinstance(data, dict):
            given = [name for name in _V1_FIELDS if name in data]
            if given:
                raise serializers.ValidationError(
                    {
                        "role": [
                            f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} not "
                            'accepted in v2: send "role": "employer" or "job_seeker".'
                        ]
                    },
                    code="role",
                )
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        role = attrs.pop("role")
        attrs["is_employer"] = role == Role.EMPLOYER
        attrs["is_job_seeker"] = role == Role.JOB_SEEKER
        return super().validate(attrs)


# The v2 schema documents this body; v1's stays the `oneOf` of the two booleans.
RegisterView.post = extend_schema(
    request=RoleRegistrationSerializer,
    responses={
        201: UserSerializer,
        400: validation_error_response(
            "Field errors: a taken username or email, a weak password, or a missing `role` "
            "(the booleans of v1 are refused)."
        ),
    },
    versions=[V2],
)(RegisterView.post)
