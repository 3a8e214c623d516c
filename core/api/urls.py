"""Routes of the API under `/api/`; the contract's paths are kept exactly.

This module is where the REST layer is loaded (`jobboard.urls` includes it), so it also loads the
OpenAPI extensions of `core.api.schema`, which register themselves with drf-spectacular.
"""

from django.urls import path
from rest_framework.routers import SimpleRouter

from core.api import accounts, alerts, applications, jobs
from core.api import schema as _schema  # noqa: F401 (registers the OpenAPI extensions)
from core.api import webhooks as webhook_views

router = SimpleRouter()
router.register("jobs", jobs.JobViewSet, basename="job")
router.register("alerts", alerts.JobAlertViewSet, basename="alert")

urlpatterns = [
    # First: the jobs are the most requested routes (the public listing above all), and a
    # request is matched against the patterns in order. No other route here starts with jobs/
    # but jobs/create/, which none of the router's patterns (`mine`, numeric ids) matches.
    *router.urls,
    path("users/register/", accounts.RegisterView.as_view(), name="register"),
    path("users/me/", accounts.MeView.as_view(), name="me"),
    path("users/me/password/", accounts.PasswordChangeView.as_view(), name="password-change"),
    path(
        "users/password-reset/",
        accounts.PasswordResetRequestView.as_view(),
        name="password-reset",
    ),
    path(
        "users/password-reset/confirm/",
        accounts.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("users/me/sessions/", accounts.SessionListView.as_view(), name="session-list"),
    path(
        "users/me/sessions/revoke-all/",
        accounts.SessionRevokeAllView.as_view(),
        name="session-revoke-all",
    ),
    path(
        "users/me/sessions/<uuid:pk>/",
        accounts.SessionDetailView.as_view(),
        name="session-detail",
    ),
    path(
        "alerts/unsubscribe/<str:token>/",
        alerts.UnsubscribeView.as_view(),
        name="alert-unsubscribe",
    ),
    path("token/", accounts.TokenObtainPairView.as_view(), name="token-obtain"),
    path("token/refresh/", accounts.TokenRefreshView.as_view(), name="token-refresh"),
    path("token/verify/", accounts.TokenVerifyView.as_view(), name="token-verify"),
    path("token/blacklist/", accounts.TokenBlacklistView.as_view(), name="token-blacklist"),
    path("categories/", jobs.CategoryListView.as_view(), name="category-list"),
    path("categories/<int:pk>/", jobs.CategoryDetailView.as_view(), name="category-detail"),
    path("jobs/create/", jobs.JobCreateView.as_view(), name="job-create"),
    path("applications/apply/", applications.ApplyView.as_view(), name="application-apply"),
    path(
        "applications/seeker/",
        applications.SeekerApplicationListView.as_view(),
        name="application-seeker-list",
    ),
    path(
        "applications/employer/",
        applications.EmployerApplicationListView.as_view(),
        name="application-employer-list",
    ),
    path(
        "applications/<int:pk>/",
        applications.ApplicationDetailView.as_view(),
        name="application-detail",
    ),
    path(
        "applications/<int:pk>/status/",
        applications.ApplicationStatusView.as_view(),
        name="application-status",
    ),
    path(
        "applications/<int:pk>/withdraw/",
        applications.ApplicationWithdrawView.as_view(),
        name="application-withdraw",
    ),
    # Webhooks (core/api/webhooks.py).
    path("webhooks/", webhook_views.WebhookEndpointListView.as_view(), name="webhook-list"),
    path(
        "webhooks/<int:pk>/",
        webhook_views.WebhookEndpointDetailView.as_view(),
        name="webhook-detail",
    ),
    path(
        "webhooks/<int:pk>/rotate-secret/",
        webhook_views.WebhookRotateSecretView.as_view(),
        name="webhook-rotate-secret",
    ),
    path("webhooks/<int:pk>/ping/", webhook_views.WebhookPingView.as_view(), name="webhook-ping"),
    path(
        "webhooks/<int:pk>/deliveries/",
        webhook_views.WebhookDeliveryListView.as_view(),
        name="webhook-delivery-list",
    ),
    path(
        "webhooks/<int:pk>/deliveries/<uuid:delivery_id>/",
        webhook_views.WebhookDeliveryDetailView.as_view(),
        name="webhook-delivery-detail",
    ),
    path(
        "webhooks/<int:pk>/deliveries/<uuid:delivery_id>/redeliver/",
        webhook_views.WebhookRedeliverView.as_view(),
        name="webhook-redeliver",
    ),
]
