"""Demo data of a chosen size, written in bulk: employers, job seekers, jobs and applications.

`manage.py load_demo_data --employers N --seekers N --jobs N --applications N` calls `load`.
Unlike every other write, this one bypasses the domains' services on purpose: rows are inserted with
`bulk_create` in batches and **no outbox event is recorded**. An event per row would make the
workers email an employer for each of thousands of applications (and refresh the listings as
many times); demo data must not do that. What the events would have done for the public is done
once here instead: the listings generation is bumped, so cached pages show the new jobs. On
PostgreSQL the search trigger fills each job's search vector on insert, as for any job.

Sizes are totals, not increments. Generated accounts are named `demo_employer_00001`,
`demo_seeker_00001`, ...; generated jobs are those of generated employers, generated
applications those of generated seekers. A second run with the same sizes adds nothing, a run
with larger ones adds the difference. Everything is written in one transaction: an impossible
size (more applications than distinct job and seeker pairs) leaves nothing half-loaded.

Published postings are dated so that none enters the expiry-reminder window within a day of
loading; a demo left running longer sees them remind and expire (and email their employer at
example.com) like any posting. Closed and expired postings, drafts, and applications at every
stage of the pipeline with their history, are mixed in as a live board would have them.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import TypeVar

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.accounts.models import Role, User
from core.applications.models import Application, ApplicationStatus, ApplicationStatusChange
from core.jobs import listing_cache, services
from core.jobs.models import Category, EmploymentType, Job, JobStatus
from core.wordlists import (
    COMPANY_NAMES,
    COMPANY_SUFFIXES,
    FIELDS,
    FIRST_NAMES,
    LAST_NAMES,
    LEVELS,
    LOCATIONS,
    ROLES,
    SKILLS,
)

EMPLOYER_PREFIX = "demo_employer_"
SEEKER_PREFIX = "demo_seeker_"
BATCH_SIZE = 1000

# The three categories of the small demo set first; generated jobs spread over all of them.
CATEGORIES = [
    ("Engineering", "engineering"),
    ("Design", "design"),
    ("Data", "data"),
    ("Infrastructure", "infrastructure"),
    ("Security", "security"),
    ("Management", "management"),
]
_DATA_FIELDS = {"Data", "Machine Learning", "Database"}
_INFRASTRUCTURE_FIELDS = {"Cloud", "DevOps", "Site Reliability", "Platform"}

JOB_STATUSES = [
    (JobStatus.PUBLISHED, 80),
    (JobStatus.CLOSED, 8),
    (JobStatus.EXPIRED, 5),
    (JobStatus.DRAFT, 7),
]
EMPLOYMENT_TYPES = [
    (EmploymentType.FULL_TIME, 70),
    (EmploymentType.PART_TIME, 10),
    (EmploymentType.CONTRACT, 12),
    (EmploymentType.INTERNSHIP, 5),
    (EmploymentType.TEMPORARY, 3),
]
# Yearly salary floor by seniority; the range's top is 10k to 40k above it.
SALARY_FLOOR = {
    "": 50_000,
    "Junior": 38_000,
    "Senior": 72_000,
    "Staff": 95_000,
    "Lead": 88_000,
    "Principal": 115_000,
}
# Salaries are quoted in the local currency here, in euros elsewhere in Europe, else in dollars.
CURRENCIES = {
    "London": "GBP", "Zurich": "CHF", "Toronto": "CAD", "Vancouver": "CAD", "Montreal": "CAD",
    "Sydney": "AUD", "Singapore": "SGD",
}  # fmt: skip
EUROPE = {
    "Berlin", "Lisbon", "Paris", "Madrid", "Amsterdam", "Dublin", "Warsaw", "Prague", "Vienna",
    "Stockholm", "Oslo", "Copenhagen", "Helsinki", "Tallinn",
}  # fmt: skip
# Where an application ended up (after "submitted"), and how often.
APPLICATION_PATHS = [
    ((), 55),
    ((ApplicationStatus.REVIEWED,), 15),
    ((ApplicationStatus.REVIEWED, ApplicationStatus.INTERVIEWING), 10),
    (
        (ApplicationStatus.REVIEWED, ApplicationStatus.INTERVIEWING, ApplicationStatus.OFFERED),
        3,
    ),
    (
        (
            ApplicationStatus.REVIEWED,
            ApplicationStatus.INTERVIEWING,
            ApplicationStatus.OFFERED,
            ApplicationStatus.HIRED,
        ),
        2,
    ),
    ((ApplicationStatus.REJECTED,), 8),
    ((ApplicationStatus.REVIEWED, ApplicationStatus.REJECTED), 4),
    ((ApplicationStatus.WITHDRAWN,), 3),
]
# Descriptions: what the team does, then what it offers; one or two of each per posting.
TEAM_SENTENCES = [
    "You will join a small team that owns its services from design to production.",
    "We ship several times a day, review every change and keep the on-call rotation calm.",
    "Our customers rely on the platform every day, so reliability comes before new features.",
    "You will work closely with product and design to turn rough ideas into shipped features.",
    "The team is spread over three time zones and writes things down instead of meeting.",
    "We are rebuilding a ten-year-old monolith into services, one careful step at a time.",
    "You will mentor two junior colleagues and help shape how the team works.",
    "Data drives our decisions: you will define the metrics and build the dashboards.",
]
OFFER_SENTENCES = [
    "We offer flexible hours, a learning budget and a yearly conference of your choice.",
    "Expect a modern laptop, a home office stipend and 30 days of paid vacation.",
    "Health insurance, parental leave and an equity plan are part of every offer.",
    "Relocation support and visa sponsorship are available for this position.",
    "Hybrid work: two days a week in a bright office close to the central station.",
    "We pay for courses and certifications and give you a day a month to learn.",
]
COVER_LETTERS = [
    "I would love to join your team as {title}. My recent work is very close to what you need.",
    "Your {title} opening caught my eye: I have shipped similar systems and enjoy mentoring.",
    "Please find my resume attached. I am excited about the {title} role and your mission.",
    "",
]


class DemoDataError(ValueError):
    """Sizes that cannot be generated (for example more applications than job-seeker pairs)."""


@dataclass(frozen=True)
class Generated:
    """How many rows of one kind the generated data set has, and how many this run added."""

    total: int
    created: int


@dataclass(frozen=True)
class DemoDataReport:
    employers: Generated
    seekers: Generated
    jobs: Generated
    applications: Generated


def load(
    *,
    employers: int,
    seekers: int,
    jobs: int,
    applications: int,
    password: str,
    seed: int = 2026,
) -> DemoDataReport:
    """Top the generated demo data up to the given totals, in one transaction, with no events.

    Every generated account gets `password` (hashed once: one hash per account would cost a
    quarter of a second each). `seed` makes the data reproducible. Raises `DemoDataError`, with
    nothing written, when the sizes cannot be met.
    """
    if min(employers, seekers, jobs, applications) < 0:
        raise DemoDataError("Sizes cannot be negative.")
    now = timezone.now()
    with transaction.atomic():
        employer_rows, made_employers = _ensure_users(
            EMPLOYER_PREFIX, Role.EMPLOYER, employers, password=password, seed=seed, now=now
        )
        seeker_rows, made_seekers = _ensure_users(
            SEEKER_PREFIX, Role.JOB_SEEKER, seekers, password=password, seed=seed, now=now
        )
        categories = _ensure_categories()
        job_total, made_jobs = _top_up_jobs(employer_rows, jobs, categories, seed=seed, now=now)
        application_total, made_applications = _top_up_applications(
            seeker_rows, applications, seed=seed, now=now
        )
        if made_jobs:
            listing_cache.invalidate_after_commit()
    return DemoDataReport(
        employers=Generated(len(employer_rows), made_employers),
        seekers=Generated(len(seeker_rows), made_seekers),
        jobs=Generated(job_total, made_jobs),
        applications=Generated(application_total, made_applications),
    )


# --- Helpers ----------------------------------------------------------------------------------

T = TypeVar("T")


def _batches(items: Iterable[T]) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, BATCH_SIZE)):
        yield batch


def _random(seed: int, kind: str, existing: int) -> random.Random:
    # Seeded by what is there already too, so that a top-up draws new rows, not the first ones
    # again, and the same runs in the same order give the same data.
    return random.Random(f"{seed}:{kind}:{existing}")  # noqa: S311  (demo data, nothing secret)


def _weighted(rng: random.Random, choices: list[tuple[T, int]]) -> T:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights)[0]


def company_of(username: str) -> str:
    """The company a generated employer hires for: fixed by its number, 400 distinct names."""
    number = int(username.rsplit("_", 1)[1])
    return (
        f"{COMPANY_NAMES[number % len(COMPANY_NAMES)]} "
        f"{COMPANY_SUFFIXES[(number // len(COMPANY_NAMES)) % len(COMPANY_SUFFIXES)]}"
    )


def _ensure_users(
    prefix: str, role: Role, count: int, *, password: str, seed: int, now: datetime
) -> tuple[list[tuple[int, str]], int]:
    """Create the missing accounts `prefix`00001..`count`; returns (id, username) of all of
    them and how many were created."""
    existing = set(
        User.objects.filter(username__startswith=prefix).values_list("username", flat=True)
    )
    missing = [
        name for name in (f"{prefix}{n:05d}" for n in range(1, count + 1)) if name not in existing
    ]
    if missing:
        rng = _random(seed, prefix, len(existing))
        password_hash = make_password(password)
        users = (
            User(
                username=name,
                email=f"{name}@example.com",
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES),
                role=role,
                password=password_hash,
                date_joined=now - timedelta(days=rng.uniform(120, 720)),
            )
            for name in missing
        )
        for batch in _batches(users):
            User.objects.bulk_create(batch)
    rows = list(
        User.objects.filter(username__startswith=prefix)
        .order_by("id")
        .values_list("id", "username")
    )
    return rows, len(missing)


def _ensure_categories() -> dict[str, int]:
    return {
        slug: (
            Category.objects.filter(slug=slug).first()
            or services.create_category(name=name, slug=slug)
        ).pk
        for name, slug in CATEGORIES
    }


def _category_slug(field: str, role: str) -> str:
    if role == "Designer":
        return "design"
    if role == "Manager":
        return "management"
    if field == "Security":
        return "security"
    if field in _DATA_FIELDS or role in ("Analyst", "Scientist"):
        return "data"
    if field in _INFRASTRUCTURE_FIELDS or role == "Administrator":
        return "infrastructure"
    return "engineering"


# --- Jobs -------------------------------------------------------------------------------------


def _top_up_jobs(
    employers: list[tuple[int, str]],
    target: int,
    categories: dict[str, int],
    *,
    seed: int,
    now: datetime,
) -> tuple[int, int]:
    existing = Job.objects.filter(employer__username__startswith=EMPLOYER_PREFIX).count()
    missing = target - existing
    if missing <= 0:
        return existing, 0
    if not employers:
        raise DemoDataError("Generated jobs need generated employers: give --employers N too.")
    rng = _random(seed, "jobs", existing)
    # A few employers post most of the jobs, as on a real board.
    weights = [1 / (rank + 1) ** 0.7 for rank in range(len(employers))]
    owners = rng.choices(employers, weights=weights, k=missing)
    for batch in _batches(owners):
        created = Job.objects.bulk_create(
            [_job(owner, categories, rng=rng, now=now) for owner in batch]
        )
        # created_at is set on insert; a posting that was published was created then.
        Job.objects.filter(pk__in=[job.pk for job in created], published_at__isnull=False).update(
            created_at=F("published_at"), updated_at=Coalesce("closed_at", "published_at")
        )
    return existing + missing, missing


def _job(
    owner: tuple[int, str], categories: dict[str, int], *, rng: random.Random, now: datetime
) -> Job:
    owner_id, username = owner
    level, field, role = rng.choice(LEVELS), rng.choice(FIELDS), rng.choice(ROLES)
    title = " ".join(part for part in (level, field, role) if part)
    company = company_of(username)
    location = rng.choice(LOCATIONS)
    remote = rng.random() < 0.25
    if rng.random() < 0.85:
        salary_min = SALARY_FLOOR[level] + rng.randrange(0, 20) * 1000
        salary_max = salary_min + rng.randrange(10, 41) * 1000
        currency = CURRENCIES.get(location, "EUR" if location in EUROPE else "USD")
    else:
        salary_min = salary_max = None
        currency = ""
    description = " ".join(
        [
            f"We are hiring a {title} at {company} in {location}"
            + (", remote possible." if remote else "."),
            *rng.sample(TEAM_SENTENCES, rng.randint(1, 2)),
            *rng.sample(OFFER_SENTENCES, rng.randint(1, 2)),
            f"Skills: {', '.join(rng.sample(SKILLS, 3))}.",
        ]
    )
    status = _weighted(rng, JOB_STATUSES)
    lifetime = timedelta(days=settings.JOB_LIFETIME_DAYS)
    # Published at most this long ago, a posting stays out of the reminder window for a day.
    fresh = max(lifetime - timedelta(days=settings.JOB_EXPIRY_REMINDER_DAYS + 1), timedelta(0))
    published_at = expires_at = closed_at = reminded_at = None
    if status == JobStatus.PUBLISHED:
        published_at = now - fresh * rng.random()
    elif status == JobStatus.CLOSED:
        published_at = now - lifetime * rng.random()
        closed_at = published_at + (now - published_at) * rng.random()
    elif status == JobStatus.EXPIRED:
        published_at = now - lifetime - timedelta(days=rng.uniform(1, 60))
        reminded_at = published_at + lifetime - timedelta(days=settings.JOB_EXPIRY_REMINDER_DAYS)
    if published_at is not None:
        expires_at = published_at + lifetime
    return Job(
        employer_id=owner_id,
        category_id=categories[_category_slug(field, role)],
        title=title,
        description=description,
        company_name=company,
        location=location,
        remote=remote,
        employment_type=_weighted(rng, EMPLOYMENT_TYPES),
        salary_min=salary_min,
        salary_max=salary_max,
        salary_currency=currency,
        status=status,
        published_at=published_at,
        expires_at=expires_at,
        closed_at=closed_at,
        expiry_reminder_sent_at=reminded_at,
    )


# --- Applications -----------------------------------------------------------------------------


def _top_up_applications(
    seekers: list[tuple[int, str]], target: int, *, seed: int, now: datetime
) -> tuple[int, int]:
    existing = set(
        Application.objects.filter(applicant__username__startswith=SEEKER_PREFIX).values_list(
            "job_id", "applicant_id"
        )
    )
    missing = target - len(existing)
    if missing <= 0:
        return len(existing), 0
    jobs = list(
        Job.objects.filter(
            employer__username__startswith=EMPLOYER_PREFIX,
            deleted_at__isnull=True,
            published_at__isnull=False,
        )
        .order_by("id")
        .values_list("id", "employer_id", "title", "published_at", "closed_at", "expires_at")
    )
    # Every (seeker, job) pair is a number below `capacity`: drawing distinct numbers gives
    # distinct pairs, one application per seeker and job as the database demands.
    capacity = len(seekers) * len(jobs)
    job_index = {row[0]: j for j, row in enumerate(jobs)}
    seeker_index = {seeker_id: s for s, (seeker_id, _) in enumerate(seekers)}
    taken = {
        seeker_index[seeker_id] * len(jobs) + job_index[job_id]
        for job_id, seeker_id in existing
        if job_id in job_index and seeker_id in seeker_index
    }
    if missing > capacity - len(taken):
        raise DemoDataError(
            f"{target} applications need as many distinct (job, seeker) pairs; "
            f"{len(seekers)} generated seekers and {len(jobs)} generated jobs that took "
            f"applications allow {capacity}. Give more --seekers or --jobs."
        )
    rng = _random(seed, "applications", len(existing))
    drawn = rng.sample(range(capacity), min(capacity, missing + len(taken)))
    pairs = [number for number in drawn if number not in taken][:missing]
    for batch in _batches(pairs):
        _create_applications(
            [(seekers[n // len(jobs)], jobs[n % len(jobs)]) for n in batch], rng=rng, now=now
        )
    return len(existing) + missing, missing


def _create_applications(
    pairs: list[tuple[tuple[int, str], tuple]], *, rng: random.Random, now: datetime
) -> None:
    applications, histories = [], []
    for (seeker_id, username), job in pairs:
        _, employer_id, title, published_at, closed_at, expires_at = job
        open_until = min(moment for moment in (closed_at, expires_at, now) if moment is not None)
        applied_at = published_at + max(open_until - published_at, timedelta(0)) * rng.random()
        path = _weighted(rng, APPLICATION_PATHS)
        applications.append(
            Application(
                job_id=job[0],
                applicant_id=seeker_id,
                cover_letter=rng.choice(COVER_LETTERS).format(title=title),
                resume_url=f"https://example.com/resumes/{username}.pdf",
                status=path[-1] if path else ApplicationStatus.SUBMITTED,
            )
        )
        steps = [("", ApplicationStatus.SUBMITTED, seeker_id, applied_at)]
        moment = applied_at
        for to_status in path:
            moment += (now - moment) * rng.uniform(0.1, 0.5)
            actor = seeker_id if to_status == ApplicationStatus.WITHDRAWN else employer_id
            steps.append((steps[-1][1], to_status, actor, moment))
        histories.append(steps)
    created = Application.objects.bulk_create(applications)
    ApplicationStatusChange.objects.bulk_create(
        ApplicationStatusChange(
            application_id=application.pk,
            from_status=from_status,
            to_status=to_status,
            changed_by_id=actor,
            changed_at=changed_at,
        )
        for application, steps in zip(created, histories, strict=True)
        for from_status, to_status, actor, changed_at in steps
    )
    # created_at and updated_at are set on insert; the history says when they really were.
    history = ApplicationStatusChange.objects.filter(application=OuterRef("pk"))
    Application.objects.filter(pk__in=[application.pk for application in created]).update(
        created_at=Subquery(history.order_by("changed_at", "id").values("changed_at")[:1]),
        updated_at=Subquery(history.order_by("-changed_at", "-id").values("changed_at")[:1]),
    )
