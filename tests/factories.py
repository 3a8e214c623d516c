"""Test data: factory_boy factories of users (employer, job seeker, admin), categories, jobs and
applications, and the bulk helper built on them.

A factory writes rows directly: no service runs, so no event is recorded, no status history is
written and no cache is refreshed. Tests of behaviour that goes through a service (an event, an
email, the listings cache) create their jobs and applications with the services instead, as the
`make_job` and `application` fixtures of tests/conftest.py do; users and the bulk rows that only
need to exist come from here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from django.conf import settings
from django.utils import timezone
from factory.django import DjangoModelFactory, Password

from core.accounts.models import Role, User
from core.applications.models import Application, ApplicationStatus
from core.jobs.models import Category, Job, JobStatus

PASSWORD = "Correct-Horse-Battery-9"


class UserFactory(DjangoModelFactory):
    """An account with no role (neither employer nor job seeker) and the suite's password."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    role = ""
    password = Password(PASSWORD)


class EmployerFactory(UserFactory):
    role = Role.EMPLOYER


class SeekerFactory(UserFactory):
    role = Role.JOB_SEEKER


class AdminFactory(UserFactory):
    is_staff = True
    is_superuser = True


class CategoryFactory(DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class JobFactory(DjangoModelFactory):
    """A posting that is open now: published a moment ago, expiring after `JOB_LIFETIME_DAYS`."""

    class Meta:
        model = Job

    employer = factory.SubFactory(EmployerFactory)
    category = factory.SubFactory(CategoryFactory)
    title = factory.Sequence(lambda n: f"Job {n}")
    description = "Bulk."
    company_name = "Acme"
    location = "Berlin"
    employment_type = "full_time"
    status = JobStatus.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(
        lambda job: job.published_at + timedelta(days=settings.JOB_LIFETIME_DAYS)
    )

    class Params:
        # Still published, but its `expires_at` passed a minute ago: what the expiry catches.
        stale = factory.Trait(
            published_at=factory.LazyFunction(lambda: timezone.now() - timedelta(days=31)),
            expires_at=factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=1)),
        )


class ApplicationFactory(DjangoModelFactory):
    class Meta:
        model = Application

    job = factory.SubFactory(JobFactory)
    applicant = factory.SubFactory(SeekerFactory)
    cover_letter = "I love APIs."
    resume_url = factory.LazyAttribute(
        lambda application: f"https://example.com/{application.applicant.username}.pdf"
    )
    status = ApplicationStatus.SUBMITTED


def make_user(role: Role | str = "", *, username: str | None = None, **extra: Any) -> User:
    """A saved user of `role` ("" for none) with the suite's password."""
    if username is not None:
        extra["username"] = username
    return UserFactory(role=role, **extra)


def bulk_jobs(count: int, *, title: str = "Bulk job", **fields: Any) -> list[Job]:
    """`count` jobs in one INSERT, titled `<title> 0` to `<title> <count - 1>`, open unless
    `stale=True`; `fields` go to `JobFactory` (a `factory.Iterator` spreads them over the jobs).
    The employer and category must exist: pass them."""
    jobs = JobFactory.build_batch(
        count, title=factory.Iterator([f"{title} {n}" for n in range(count)]), **fields
    )
    Job.objects.bulk_create(jobs)
    return jobs
