"""Django's entry point for the models of the `core` app: the models of every domain package.

Django loads `core.models` to find the app's models; each domain keeps its own in its package.
Nothing else imports from here: code names a model by its domain's module
(`core.jobs.models.Job`), so a model has one name in one place.
"""

from core.accounts.models import LoginFailureWindow, User, UserSession
from core.alerts.models import JobAlert, JobAlertDigest
from core.applications.models import Application, ApplicationStatusChange
from core.jobs.models import Category, Job
from core.outbox.models import EmailDelivery, OutboxEvent
from core.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "Application",
    "ApplicationStatusChange",
    "Category",
    "EmailDelivery",
    "Job",
    "JobAlert",
    "JobAlertDigest",
    "LoginFailureWindow",
    "OutboxEvent",
    "User",
    "UserSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
