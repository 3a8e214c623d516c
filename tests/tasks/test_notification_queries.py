"""A notification costs a constant number of queries, whatever the size of the backlog."""

from __future__ import annotations

import pytest
from django.core import mail

from core.accounts.models import Role
from core.applications import services
from core.outbox.models import OutboxEvent
from tasks import email as email_module
from tasks.notifications import notify_employer_of_application
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    email_module.close_connection()
    yield
    email_module.close_connection()


def test_each_application_email_costs_the_same_queries(job, django_assert_max_num_queries):
    for _ in range(3):
        services.apply_to_job(
            applicant=make_user(Role.JOB_SEEKER),
            job=job,
            cover_letter="Hello",
            resume_url="https://example.com/cv.pdf",
        )
    event_ids = [str(e.pk) for e in OutboxEvent.objects.filter(event_type="application.submitted")]
    counts = []
    for event_id in event_ids:
        with django_assert_max_num_queries(8) as captured:
            notify_employer_of_application.apply(args=[event_id])
        counts.append(len(captured.captured_queries))
    assert len(mail.outbox) == 3
    assert len(set(counts)) == 1, counts
