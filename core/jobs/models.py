"""Categories and jobs: their structure and the invariants the database itself enforces
(unique category names and slugs, salary order), and the field lists every layer shares.

Rows are written only through `core.jobs.services`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


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
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs", db_index=False
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


# What an employer may set on a job, in the order forms and the API list them. The services
# refuse any other field; the REST write shapes are exactly these.
EDITABLE_JOB_FIELDS = (
    "title",
    "description",
    "company_name",
    "location",
    "remote",
    "employment_type",
    "category",
    "salary_min",
    "salary_max",
    "salary_currency",
)

# A job as anyone may see it, in this order: the public listing loads only these columns
# (`core.jobs.selectors`), and the REST shape of a job is exactly these fields. `category_name`
# and `category_slug` are the category's, read through the relation.
PUBLIC_JOB_FIELDS = (
    "id",
    "title",
    "description",
    "company_name",
    "location",
    "remote",
    "employment_type",
    "category",
    "category_name",
    "category_slug",
    "salary_min",
    "salary_max",
    "salary_currency",
    "status",
    "created_at",
    "updated_at",
    "published_at",
    "expires_at",
    "closed_at",
)
