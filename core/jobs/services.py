"""Every write of categories and jobs: one function per use case, keyword-only, atomic, emitting
events.

Views, the admin and tasks call these; nothing else writes these rows. Each function validates the
business rules that need the database (state; ownership was already settled by the caller's
queryset), changes rows inside `transaction.atomic()` and records the catalogue's event in the same
transaction, so a committed change always has its event and a rolled-back one never does.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from core.accounts.models import User
from core.exceptions import Conflict, DuplicateValue, InvalidJobState
from core.jobs import listing_cache
from core.jobs.models import EDITABLE_JOB_FIELDS, Category, Job, JobStatus
from core.outbox import events

# --- Categories -----------------------------------------------------------------------------


def _taken_category_field(*, name: str, slug: str, exclude_pk: int | None = None) -> str | None:
    categories = Category.objects.exclude(pk=exclude_pk) if exclude_pk else Category.objects.all()
    if name and categories.filter(name__iexact=name).exists():
        return "name"
    if slug and categories.filter(slug=slug).exists():
        return "slug"
    return None


def _save_category(category: Category) -> Category:
    if taken := _taken_category_field(
        name=category.name, slug=category.slug, exclude_pk=category.pk
    ):
        raise DuplicateValue(f"A category with that {taken} already exists.", field=taken)
    try:
        with transaction.atomic():
            category.save()
            listing_cache.invalidate_after_commit()
    except IntegrityError as exc:
        taken = (
            _taken_category_field(name=category.name, slug=category.slug, exclude_pk=category.pk)
            or "name"
        )
        raise DuplicateValue(f"A category with that {taken} already exists.", field=taken) from exc
    return category


def _slug_for(name: str) -> str:
    slug = slugify(name)[:100]
    if not slug:
        raise DuplicateValue(
            "Give a slug: this name has no letters or digits to make one from.", field="slug"
        )
    return slug


def create_category(*, name: str, slug: str | None = None) -> Category:
    """Create a category; the slug is made from the name when not given."""
    return _save_category(Category(name=name, slug=slug or _slug_for(name)))


def update_category(
    *, category: Category, name: str | None = None, slug: str | None = None
) -> Category:
    """Rename a category or change its slug (admin only, enforced by the caller)."""
    if name is not None:
        category.name = name
    if slug is not None:
        category.slug = slug
    return _save_category(category)


def delete_category(*, category: Category) -> None:
    """Delete a category that no job uses; a category in use answers `Conflict`."""
    if Job.objects.filter(category=category).exists():
        raise Conflict("This category still has jobs; move or delete them first.")
    with transaction.atomic():
        category.delete()
        listing_cache.invalidate_after_commit()


# --- Jobs -----------------------------------------------------------------------------------


def _job_payload(job: Job) -> dict[str, Any]:
    return {"job_id": job.pk, "employer_id": job.employer_id, "category_id": job.category_id}


def _publish(job: Job) -> None:
    now = timezone.now()
    job.status = JobStatus.PUBLISHED
    job.published_at = now
    job.expires_at = now + timedelta(days=settings.JOB_LIFETIME_DAYS)
    job.closed_at = None


def create_job(*, employer: User, fields: dict[str, Any], draft: bool = False) -> Job:
    """Post a job owned by `employer`: published at once (`job.published`) unless a draft."""
    unknown = set(fields) - set(EDITABLE_JOB_FIELDS)
    if unknown:
        raise ValueError(f"fields not editable: {sorted(unknown)}")
    job = Job(employer=employer, **fields)
    if not draft:
        _publish(job)
    with transaction.atomic():
        job.save()
        if not draft:
            events.record_event(event_type=events.JOB_PUBLISHED, payload=_job_payload(job))
    return job


def update_job(*, job: Job, changes: dict[str, Any]) -> Job:
    """Edit a draft or published job; a visible job emits `job.updated`."""
    unknown = set(changes) - set(EDITABLE_JOB_FIELDS)
    if unknown:
        raise ValueError(f"fields not editable: {sorted(unknown)}")
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.status not in (JobStatus.DRAFT, JobStatus.PUBLISHED):
            raise InvalidJobState(f"A {job.status} job cannot be edited.")
        for name, value in changes.items():
            setattr(job, name, value)
        job.save(update_fields=[*changes, "updated_at"])
        if job.status == JobStatus.PUBLISHED and changes:
            events.record_event(event_type=events.JOB_UPDATED, payload=_job_payload(job))
    return job


def publish_job(*, job: Job) -> Job:
    """Publish a draft for `JOB_LIFETIME_DAYS`; emits `job.published`."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.status != JobStatus.DRAFT:
            raise InvalidJobState(f"Only a draft can be published; this job is {job.status}.")
        _publish(job)
        job.save(update_fields=["status", "published_at", "expires_at", "closed_at", "updated_at"])
        events.record_event(event_type=events.JOB_PUBLISHED, payload=_job_payload(job))
    return job


def _close(job: Job) -> bool:
    """Close `job` in place; returns whether it was visible (and so `job.closed` is due)."""
    was_visible = job.status == JobStatus.PUBLISHED
    if job.status in (JobStatus.DRAFT, JobStatus.PUBLISHED):
        job.status = JobStatus.CLOSED
        job.closed_at = timezone.now()
    return was_visible


def close_job(*, job: Job) -> Job:
    """Stop listing a job and taking applications; the owner still sees it. Idempotent."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.status == JobStatus.CLOSED:
            return job
        was_visible = _close(job)
        job.save(update_fields=["status", "closed_at", "updated_at"])
        if was_visible:
            events.record_event(event_type=events.JOB_CLOSED, payload=_job_payload(job))
    return job


def delete_job(*, job: Job) -> None:
    """Remove a job from every listing and from its URL, keeping its applications and history."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.deleted_at is not None:
            return
        was_visible = _close(job)
        job.deleted_at = timezone.now()
        job.save(update_fields=["status", "closed_at", "deleted_at", "updated_at"])
        if was_visible:
            events.record_event(event_type=events.JOB_CLOSED, payload=_job_payload(job))


def renew_job(*, job: Job) -> Job:
    """Push `expires_at` out to `JOB_LIFETIME_DAYS` from now; an expired job is listed again.

    Emits `job.updated` for a published job and `job.published` for one that had expired.
    """
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.status not in (JobStatus.PUBLISHED, JobStatus.EXPIRED):
            raise InvalidJobState(
                f"Only a published or expired job can be renewed; this is {job.status}."
            )
        event_type = (
            events.JOB_UPDATED if job.status == JobStatus.PUBLISHED else events.JOB_PUBLISHED
        )
        job.status = JobStatus.PUBLISHED
        job.expires_at = timezone.now() + timedelta(days=settings.JOB_LIFETIME_DAYS)
        job.expiry_reminder_sent_at = None
        job.save(update_fields=["status", "expires_at", "expiry_reminder_sent_at", "updated_at"])
        events.record_event(event_type=event_type, payload=_job_payload(job))
    return job
