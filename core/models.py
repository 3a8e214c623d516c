"""The domain of the job board: users with a role, categories, jobs, applications and the outbox.

Rows are written only through `core.services`; this module holds structure and the invariants the
database itself enforces (uniqueness, one application per seeker and job, salary order).
"""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class Role(models.TextChoices):
    EMPLOYER = "employer", "Employer"
    JOB_SEEKER = "job_seeker", "Job seeker"


class User(AbstractUser):
    """An account. Employers and job seekers each have exactly one role; admins are `is_staff`."""

    email = models.EmailField("email address")
    role = models.CharField(max_length=16, choices=Role.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_ci_unique",
                condition=~models.Q(email=""),
                violation_error_message="A user with that email already exists.",
            ),
        ]

    @property
    def is_employer(self) -> bool:
        return self.role == Role.EMPLOYER

    @property
    def is_job_seeker(self) -> bool:
        return self.role == Role.JOB_SEEKER


class Category(models.Model):
    """A field of work jobs are posted into ("Backend", "Design")."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(Lower("name"), name="category_name_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class EmploymentType(models.TextChoices):
    FULL_TIME = "full_time", "Full time"
    PART_TIME = "part_time", "Part time"
    CONTRACT = "contract", "Contract"
    INTERNSHIP = "internship", "Internship"
    TEMPORARY = "temporary", "Temporary"


class JobStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    CLOSED = "closed", "Closed"
    EXPIRED = "expired", "Expired"


class JobQuerySet(models.QuerySet):
    def not_deleted(self) -> JobQuerySet:
        return self.filter(deleted_at__isnull=True)

    def open(self) -> JobQuerySet:
        """Jobs the public may see and apply to: published and not past `expires_at`."""
        return self.not_deleted().filter(status=JobStatus.PUBLISHED, expires_at__gt=timezone.now())


# The rows every public read is about: published and not deleted (`expires_at` is compared at
# query time). The partial indexes below cover only these.
OPEN_JOB_CONDITION = models.Q(status=JobStatus.PUBLISHED, deleted_at__isnull=True)


class Job(models.Model):
    """A posting by an employer. Deleting one only stamps `deleted_at`, so applications survive."""

    # Indexed by `job_employer_created_idx`, which also orders an employer's own list.
    employer = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="jobs", db_index=False
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="jobs")
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=20_000)
    company_name = models.CharField(max_length=200)
    location = models.CharField(max_length=200)
    remote = models.BooleanField(default=False)
    employment_type = models.CharField(max_length=16, choices=EmploymentType.choices)
    salary_min = models.PositiveIntegerField(null=True, blank=True)
    salary_max = models.PositiveIntegerField(null=True, blank=True)
    salary_currency = models.CharField(max_length=3, blank=True)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Set when the "expires soon" reminder went out; cleared by a renewal.
    expiry_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    # Maintained by a PostgreSQL trigger (see migration 0002); unused on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(salary_min__isnull=True)
                | models.Q(salary_max__isnull=True)
                | models.Q(salary_min__lte=models.F("salary_max")),
                name="job_salary_min_lte_max",
            ),
        ]
        # The indexes that serve public reads are partial on the open set (published, not
        # deleted): a job leaving it (expired, closed, deleted) writes no entry into them, which
        # doubles the rows/s of expiring a million postings (bench/expiry.py). The search
        # vector's GIN index is partial the same way (migration 0005).
        indexes = [
            # The public listing: open jobs, newest first (or by creation, `?ordering=`).
            models.Index(
                fields=["-published_at", "-id"],
                name="job_open_published_idx",
                condition=OPEN_JOB_CONDITION,
            ),
            models.Index(
                fields=["-created_at", "-id"],
                name="job_open_created_idx",
                condition=OPEN_JOB_CONDITION,
            ),
            # Expiry and reminders: open jobs by the time they expire.
            models.Index(
                fields=["expires_at", "id"],
                name="job_open_expires_idx",
                condition=OPEN_JOB_CONDITION,
            ),
            # An employer's own jobs, newest first (and the employer foreign key).
            models.Index(
                fields=["employer", "-created_at", "-id"], name="job_employer_created_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.company_name})"

    @property
    def is_open(self) -> bool:
        return (
            self.deleted_at is None
            and self.status == JobStatus.PUBLISHED
            and self.expires_at is not None
            and self.expires_at > timezone.now()
        )


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
    applicant = models.ForeignKey(User, on_delete=models.PROTECT, related_name="applications")
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


class ApplicationStatusChange(models.Model):
    """One step of an application's history: who moved it from what to what, and when."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(max_length=16, choices=ApplicationStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=ApplicationStatus.choices)
    changed_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    note = models.CharField(max_length=1000, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"


class OutboxEvent(models.Model):
    """An event stored in the same transaction as the change it describes (transactional outbox).

    The relay publishes rows whose `published_at` is null and stamps it once the broker confirmed.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    occurred_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    publish_attempts = models.PositiveIntegerField(default=0)
    # The id of the API request (or task run) that recorded the event, empty when there was none
    # (beat's periodic work); the relay passes it on to the subscribers' task runs and their logs.
    request_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["occurred_at"]
        indexes = [
            models.Index(
                fields=["occurred_at"],
                name="outbox_pending_idx",
                condition=models.Q(published_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    # An attempt took the lease and has not recorded its outcome (yet): tasks/email.py.
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class EmailDelivery(models.Model):
    """One email an event caused, and what became of it.

    `idempotency_key` (event, template, recipient) is unique, so a redelivered event finds its
    delivery already sent and sends nothing; a failed one keeps its attempts and last error.
    """

    idempotency_key = models.CharField(max_length=255, unique=True)
    event_id = models.UUIDField(db_index=True)
    event_type = models.CharField(max_length=64)
    template = models.CharField(max_length=64)
    recipient = models.EmailField()
    subject = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # Attempts that ended with no outcome recorded (the worker stopped between the SMTP
    # transaction and the write): the email may have gone out more than once.
    unknown_outcomes = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "email deliveries"
        indexes = [models.Index(fields=["status", "created_at"], name="delivery_status_idx")]

    def __str__(self) -> str:
        return f"{self.template} to {self.recipient} ({self.status})"
