"""Every write of applications: applying, the employer's pipeline and withdrawing.

Each function changes rows inside `transaction.atomic()` and records its event in the same
transaction; the transition table below is the only rule of the pipeline.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from core.accounts.models import User
from core.applications.models import Application, ApplicationStatus, ApplicationStatusChange
from core.exceptions import AlreadyApplied, InvalidTransition, JobNotOpen
from core.jobs.models import Job
from core.outbox import events

# The employer's pipeline; anything not listed here is refused.
EMPLOYER_TRANSITIONS: dict[str, frozenset[str]] = {
    ApplicationStatus.SUBMITTED: frozenset(
        {ApplicationStatus.REVIEWED, ApplicationStatus.REJECTED}
    ),
    ApplicationStatus.REVIEWED: frozenset(
        {ApplicationStatus.INTERVIEWING, ApplicationStatus.REJECTED}
    ),
    ApplicationStatus.INTERVIEWING: frozenset(
        {ApplicationStatus.OFFERED, ApplicationStatus.REJECTED}
    ),
    ApplicationStatus.OFFERED: frozenset({ApplicationStatus.HIRED, ApplicationStatus.REJECTED}),
}
# States from which the applicant may still withdraw.
WITHDRAWABLE = frozenset(EMPLOYER_TRANSITIONS)


def _application_payload(application: Application, employer_id: int) -> dict[str, Any]:
    return {
        "application_id": application.pk,
        "job_id": application.job_id,
        "applicant_id": application.applicant_id,
        "employer_id": employer_id,
    }


def apply_to_job(*, applicant: User, job: Job, cover_letter: str, resume_url: str) -> Application:
    """Submit `applicant`'s application to an open job and emit `application.submitted`.

    A second application to the same job raises `AlreadyApplied`, also when two arrive at once
    (the unique constraint decides); a closed, draft, deleted or expired job raises `JobNotOpen`.
    """
    try:
        with transaction.atomic():
            # Lock the job so a concurrent close cannot slip between the check and the insert.
            job = Job.objects.select_for_update().get(pk=job.pk)
            if not job.is_open:
                raise JobNotOpen()
            if Application.objects.filter(job=job, applicant=applicant).exists():
                raise AlreadyApplied()
            application = Application.objects.create(
                job=job, applicant=applicant, cover_letter=cover_letter, resume_url=resume_url
            )
            ApplicationStatusChange.objects.create(
                application=application,
                from_status="",
                to_status=ApplicationStatus.SUBMITTED,
                changed_by=applicant,
                changed_at=application.created_at,
            )
            events.record_event(
                event_type=events.APPLICATION_SUBMITTED,
                payload=_application_payload(application, job.employer_id),
            )
    except IntegrityError as exc:
        raise AlreadyApplied() from exc
    return application


def _move(
    application: Application,
    *,
    to_status: str,
    actor: User,
    note: str,
    event_type: str,
    internal_note: str = "",
) -> Application:
    from_status = application.status
    application.status = to_status
    application.save(update_fields=["status", "updated_at"])
    ApplicationStatusChange.objects.create(
        application=application,
        from_status=from_status,
        to_status=to_status,
        changed_by=actor,
        note=note,
        internal_note=internal_note,
    )
    payload = _application_payload(application, application.job.employer_id)
    payload.update(from_status=from_status, to_status=to_status)
    events.record_event(event_type=event_type, payload=payload)
    return application


def change_application_status(
    *,
    application: Application,
    to_status: str,
    actor: User,
    note: str = "",
    internal_note: str = "",
) -> Application:
    """Move an application along the employer's pipeline; the transition table is the only rule.

    `note` is the applicant's to read (their status-change email and history); `internal_note`
    stays on the employer's side.
    """
    with transaction.atomic():
        application = (
            Application.objects.select_for_update(of=("self",))
            .select_related("job")
            .get(pk=application.pk)
        )
        allowed = EMPLOYER_TRANSITIONS.get(application.status, frozenset())
        if to_status not in allowed:
            raise InvalidTransition(
                f"An application cannot go from {application.status} to {to_status}."
                + (f" Allowed: {', '.join(sorted(allowed))}." if allowed else "")
            )
        return _move(
            application,
            to_status=to_status,
            actor=actor,
            note=note,
            internal_note=internal_note,
            event_type=events.APPLICATION_STATUS_CHANGED,
        )


def withdraw_application(*, application: Application, actor: User) -> Application:
    """The applicant takes back an application that is still open; emits `application.withdrawn`."""
    with transaction.atomic():
        application = (
            Application.objects.select_for_update(of=("self",))
            .select_related("job")
            .get(pk=application.pk)
        )
        if application.status not in WITHDRAWABLE:
            raise InvalidTransition(f"A {application.status} application cannot be withdrawn.")
        return _move(
            application,
            to_status=ApplicationStatus.WITHDRAWN,
            actor=actor,
            note="",
            event_type=events.APPLICATION_WITHDRAWN,
        )
