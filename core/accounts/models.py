"""Users with a role. Employers and job seekers each have exactly one; admins are `is_staff`."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower


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
