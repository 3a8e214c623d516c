"""Reads of accounts: the sessions a user can see and end."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from core.accounts.models import User, UserSession


def open_sessions(*, user: User) -> QuerySet[UserSession]:
    """The user's sessions still open: not ended, and used within a refresh token's lifetime
    (an older one has no refresh token left that could be rotated), most recently used first."""
    oldest = timezone.now() - settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
    return (
        UserSession.objects.filter(user=user, ended_at__isnull=True, last_used_at__gte=oldest)
        .only("id", "created_at", "last_used_at", "user_agent")
        .order_by("-last_used_at", "-created_at")
    )
