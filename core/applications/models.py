"""Applications and their history: structure, and what the database enforces (one application
per seeker and job). Rows are written only through `core.applications.services`."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.jobs.models import Job


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    REVIEWED = "reviewed", "Reviewed"
    INTERVIEWING = "interviewing", "Interviewing"
    OFFERED = "offered", "Offered"
    HIRED = "hired", "Hired"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Application(models.Model):
    """A job seeker's application to one job; at most one per seeker and job."""

    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="applications")
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="applications"
    )
    cover_letter = models.TextField(max_length=10_000, blank=True)
    resume_url = models.URLField(max_length=500)
    status = models.CharField(
        max_length=16, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "applicant"],
                name="application_one_per_job_and_applicant",
                violation_error_message="You have already applied to this job.",
            ),
        ]
        indexes = [models.Index(fields=["job", "status"], name="application_job_status_idx")]

    def __str__(self) -> str:
        return f"Application {self.pk} to job {self.job_id} by user {self.applicant_id}"


class HistoryActor(models.TextChoices):
    """Who made a step of an application's history, as its applicant is told."""

    EMPLOYER = "employer", "The job's employer"
    APPLICANT = "applicant", "The applicant"
    SYSTEM = "system", "An administrator or an automatic process"


class ApplicationStatusChange(models.Model):
    """One step of an application's history: who moved it from what to what, and when."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(max_length=16, choices=ApplicationStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=ApplicationStatus.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Written by the employer and sent to the applicant (the status-change email, their history).
    note = models.CharField(max_length=1000, blank=True)
    # The employer's own remark on the step: never emailed, never shown to the applicant.
    internal_note = models.CharField(max_length=1000, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"

    def actor(self) -> HistoryActor:
        """The role of who made this step (the application and its job must be loaded)."""
        application = self.application
        if self.changed_by_id is None:
            return HistoryActor.SYSTEM
        if self.changed_by_id == application.applicant_id:
            return HistoryActor.APPLICANT
        if self.changed_by_id == application.job.employer_id:
            return HistoryActor.EMPLOYER
        return HistoryActor.SYSTEM
