"""Every write of accounts: registration, profile, passwords and the refresh tokens they revoke.

Views and tasks call these; nothing else writes users. Keyword-only, atomic.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.tokens import default_token_generator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from core.accounts import lockout
from core.accounts.models import Role, User, UserSession
from core.accounts.sessions import mark_ended, mark_open
from core.batching import delete_in_batches
from core.exceptions import DuplicateValue, InvalidResetToken
from core.outbox import events


def _taken_user_field(*, username: str, email: str, exclude_pk: int | None = None) -> str | None:
    users = User.objects.exclude(pk=exclude_pk) if exclude_pk else User.objects.all()
    if username and users.filter(username__iexact=username).exists():
        return "username"
    if email and users.filter(email__iexact=email).exists():
        return "email"
    return None


def register_user(*, username: str, email: str, password: str, role: Role) -> User:
    """Create an account with exactly one role. Taken usernames or emails raise `DuplicateValue`.

    Usernames and emails are compared case-insensitively; the database constraint settles races.
    """
    email = User.objects.normalize_email(email)
    if taken := _taken_user_field(username=username, email=email):
        raise DuplicateValue(f"A user with that {taken} already exists.", field=taken)
    try:
        with transaction.atomic():
            user = User(username=username, email=email, role=role)
            user.set_password(password)
            user.save()
    except IntegrityError as exc:
        taken = _taken_user_field(username=username, email=email) or "username"
        raise DuplicateValue(f"A user with that {taken} already exists.", field=taken) from exc
    return user


def update_user_profile(*, user: User, changes: dict[str, Any]) -> User:
    """Change the caller's own email or name; the role and username are fixed at registration."""
    allowed = {"email", "first_name", "last_name"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"fields not editable: {sorted(unknown)}")
    if "email" in changes:
        changes["email"] = User.objects.normalize_email(changes["email"])
        if _taken_user_field(username="", email=changes["email"], exclude_pk=user.pk):
            raise DuplicateValue("A user with that email already exists.", field="email")
    for name, value in changes.items():
        setattr(user, name, value)
    try:
        with transaction.atomic():
            user.save(update_fields=[*changes])
    except IntegrityError as exc:
        raise DuplicateValue("A user with that email already exists.", field="email") from exc
    return user


def revoke_refresh_tokens(*, user: User) -> int:
    """Blacklist every outstanding refresh token of `user`; returns how many were newly revoked."""
    outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    tokens = [BlacklistedToken(token=token) for token in outstanding]
    BlacklistedToken.objects.bulk_create(tokens, ignore_conflicts=True)
    return len(tokens)


def change_password(*, user: User, new_password: str) -> None:
    """Set a new password and log the user out everywhere: every session ends, so its access
    tokens are refused from their next request, and every refresh token is revoked."""
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        revoke_refresh_tokens(user=user)
        end_sessions(user=user)


def start_session(*, user: User, user_agent: str = "") -> UserSession:
    """Open a session for a login; the tokens it issues name it."""
    session = UserSession.objects.create(user=user, user_agent=user_agent[:255])
    mark_open(session.pk)
    return session


def touch_session(*, session_id: Any, user: User) -> bool:
    """Record a use of the session (a refresh); False when it has ended or is not the user's.

    Called with the user's row locked, as the refresh is: see `end_sessions`.
    """
    now = timezone.now()
    return bool(
        UserSession.objects.filter(pk=session_id, user=user, ended_at__isnull=True).update(
            last_used_at=now
        )
    )


def end_sessions(*, user: User, session_ids: list[Any] | None = None, keep: Any = None) -> int:
    """End the user's open sessions (those named, or all), except `keep`; returns how many.

    Their access tokens answer 401 from the next request (the cache learns it after commit)
    and their refresh tokens can no longer be rotated. A refresh locks the user's row and checks
    its session in that lock, so one racing with this either ran first (and this ends the
    session it touched) or runs after and finds the session ended.
    """
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        sessions = UserSession.objects.filter(user=user, ended_at__isnull=True)
        if session_ids is not None:
            sessions = sessions.filter(pk__in=session_ids)
        if keep is not None:
            sessions = sessions.exclude(pk=keep)
        ids = list(sessions.values_list("pk", flat=True))
        UserSession.objects.filter(pk__in=ids).update(ended_at=timezone.now())
        mark_ended(ids)
    return len(ids)


def flush_expired_tokens(*, batch_size: int = 5000) -> int:
    """Delete refresh tokens (and their blacklist entries) that have expired anyway."""
    return delete_in_batches(
        OutstandingToken.objects.filter(expires_at__lt=timezone.now()), batch_size=batch_size
    )


def request_password_reset(*, email: str) -> bool:
    """Record `user.password_reset_requested` for the active account with that email, if any;
    True when there was one (the caller must not tell: the API answers the same either way).

    The event names the user only. Its email's link is derived when the email is sent, from the
    user's state then (Django's stateless tokens): no token is stored anywhere.
    """
    email = User.objects.normalize_email(email.strip())
    if not email:
        return False
    with transaction.atomic():
        user = User.objects.filter(email__iexact=email, is_active=True).first()
        if user is None or not user.has_usable_password():
            return False
        events.record_event(
            event_type=events.USER_PASSWORD_RESET_REQUESTED, payload={"user_id": user.pk}
        )
    return True


def password_reset_link_parts(*, user: User) -> tuple[str, str]:
    """The `uid` and `token` of a reset link for `user`, valid until the password changes (or
    the user logs in) or `PASSWORD_RESET_TIMEOUT` has passed, whichever comes first."""
    return urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)


def user_of_reset_link(*, uid: str, token: str) -> User:
    """The user a reset link is for; `InvalidResetToken` if it was used, expired or forged."""
    try:
        pk = int(force_str(urlsafe_base64_decode(uid)))
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        raise InvalidResetToken() from None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, token):
        raise InvalidResetToken()
    return user


def reset_password(*, uid: str, token: str, new_password: str) -> User:
    """Set a new password from a reset link: the link then stops working (the token derives from
    the password), every session ends and the username's login lockout is lifted.
    `InvalidResetToken` for a used, expired or forged one.

    The user's row is locked while the token is checked, so two uses of one link racing each
    other set the password once; the second finds the token no longer valid.
    """
    with transaction.atomic():
        user = user_of_reset_link(uid=uid, token=token)
        user = User.objects.select_for_update().get(pk=user.pk)
        if not default_token_generator.check_token(user, token):
            raise InvalidResetToken()
        user.set_password(new_password)
        user.save(update_fields=["password"])
        revoke_refresh_tokens(user=user)
        end_sessions(user=user)
        username = user.get_username()
        transaction.on_commit(lambda: lockout.lift(username=username))
    return user
