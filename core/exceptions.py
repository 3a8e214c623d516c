"""Domain errors raised by services; the API maps each to its HTTP status and stable code."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the operation. Subclasses fix the status code and `default_code`."""

    status_code = 400
    default_code = "invalid"
    default_detail = "The request was refused."

    def __init__(self, detail: str | None = None, *, field: str | None = None) -> None:
        self.detail = detail or self.default_detail
        self.field = field
        super().__init__(self.detail)


class AlreadyApplied(DomainError):
    default_code = "already_applied"
    default_detail = "You have already applied to this job."


class JobNotOpen(DomainError):
    default_code = "job_not_open"
    default_detail = "This job is not accepting applications (it is closed, a draft or expired)."


class InvalidTransition(DomainError):
    default_code = "invalid_transition"
    default_detail = "This status change is not allowed."


class InvalidJobState(DomainError):
    default_code = "invalid_job_state"
    default_detail = "The job is not in a state that allows this."


class Conflict(DomainError):
    status_code = 409
    default_code = "conflict"
    default_detail = "The request conflicts with the current state."


class DuplicateValue(DomainError):
    default_code = "unique"
    default_detail = "This value is already taken."


class SessionNotFound(DomainError):
    """No open session of the caller has that id (another user's is the same: not found)."""

    status_code = 404
    default_code = "session_not_found"


class InvalidResetToken(DomainError):
    """A password reset link that was used, has expired or was never issued."""

    default_code = "invalid_reset_token"
    default_detail = "This password reset link is invalid or has expired; ask for a new one."


class AccountLocked(DomainError):
    """Too many failed logins for this username: every login of it waits out the window, the
    right password included. An unknown username is answered the same, so it tells nothing."""

    status_code = 429
    default_code = "account_locked"
    default_detail = "Too many failed logins for this account. Try again later."

    def __init__(self, *, retry_after: int) -> None:
        # The wait goes in `Retry-After` only: the body is the same for every locked username.
        super().__init__()
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}
