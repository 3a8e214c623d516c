"""Routes of the API under `/api/`; the contract's paths are kept exactly."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from core.api import views

router = SimpleRouter()
router.register("jobs", views.JobViewSet, basename="job")

urlpatterns = [
    path("users/register/", views.RegisterView.as_view(), name="register"),
    path("users/me/", views.MeView.as_view(), name="me"),
    path("users/me/password/", views.PasswordChangeView.as_view(), name="password-change"),
    path("token/", views.TokenObtainPairView.as_view(), name="token-obtain"),
    path("token/refresh/", views.TokenRefreshView.as_view(), name="token-refresh"),
    path("token/verify/", views.TokenVerifyView.as_view(), name="token-verify"),
    path("token/blacklist/", views.TokenBlacklistView.as_view(), name="token-blacklist"),
    path("categories/", views.CategoryListView.as_view(), name="category-list"),
    path("categories/<int:pk>/", views.CategoryDetailView.as_view(), name="category-detail"),
    path("jobs/create/", views.JobCreateView.as_view(), name="job-create"),
    path("applications/apply/", views.ApplyView.as_view(), name="application-apply"),
    path(
        "applications/seeker/",
        views.SeekerApplicationListView.as_view(),
        name="application-seeker-list",
    ),
    path(
        "applications/employer/",
        views.EmployerApplicationListView.as_view(),
        name="application-employer-list",
    ),
    path(
        "applications/<int:pk>/",
        views.ApplicationDetailView.as_view(),
        name="application-detail",
    ),
    path(
        "applications/<int:pk>/status/",
        views.ApplicationStatusView.as_view(),
        name="application-status",
    ),
    path(
        "applications/<int:pk>/withdraw/",
        views.ApplicationWithdrawView.as_view(),
        name="application-withdraw",
    ),
    *router.urls,
]
