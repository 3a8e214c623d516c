"""Every read of applications: querysets scoped to what the caller may see, history prefetched.

An application outside a caller's queryset does not exist for them (404).
"""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from core.accounts.models import User
from core.applications.models import Application, ApplicationStatusChange


def _applications() -> QuerySet[Application]:
    history = ApplicationStatusChange.objects.select_related("changed_by").only(
        "id",
        "application_id",
        "from_status",
        "to_status",
        "note",
        "internal_note",
        "changed_at",
        "changed_by__id",
        "changed_by__username",
    )
    return (
        Application.objects.select_related("job", "applicant")
        .defer("job__search_vector", "job__description")
        .prefetch_related(Prefetch("status_changes", queryset=history))
        .order_by("-created_at", "-id")
    )


def applications_of_seeker(*, seeker: User) -> QuerySet[Application]:
    """The seeker's own applications, newest first, with their history."""
    return _applications().filter(applicant=seeker)


def applications_to_employer(
    *, employer: User, job_id: int | None = None, status: str | None = None
) -> QuerySet[Application]:
    """Applications to the employer's jobs, deleted jobs included (nothing sent is lost)."""
    applications = _applications().filter(job__employer=employer)
    if job_id is not None:
        applications = applications.filter(job_id=job_id)
    if status:
        applications = applications.filter(status=status)
    return applications


def applications_visible_to(*, user: User) -> QuerySet[Application]:
    """Applications `user` may read: their own, those to their jobs, or all for an admin."""
    if user.is_staff:
        return _applications()
    return _applications().filter(Q(applicant=user) | Q(job__employer=user))
