"""Users with a role. Employers and job seekers each have exactly one; admins are `is_staff`."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
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


class UserSession(models.Model):
    """One login: the refresh token it issued and every rotation of it (one token family).

    Every access token names its session (`sid`); ending the session refuses all of them at
    their next request, and its refresh token at the next rotation.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    user_agent = models.CharField(max_length=255, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "ended_at"], name="usersession_user_ended")]

    def __str__(self) -> str:
        return f"session {self.id} of user {self.user_id}"


class LoginFailureWindow(models.Model):
    """Login attempts of one username within its lockout window, kept here only while Redis,
    where they are normally counted, cannot be reached (see `core.accounts.lockout`).

    `key` is a digest of the username, so the table names no account, known or not.
    """

    key = models.CharField(max_length=64, primary_key=True)
    attempts = models.PositiveIntegerField(default=0)
    window_ends = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.attempts} login attempts until {self.window_ends:%H:%M:%S}"
