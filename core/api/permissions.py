"""Role permissions. Ownership is not checked here but in the selectors' querysets."""

from rest_framework.permissions import BasePermission


class IsEmployer(BasePermission):
    message = "Only employers can do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_employer)


class IsJobSeeker(BasePermission):
    message = "Only job seekers can do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_job_seeker)


class IsAdmin(BasePermission):
    message = "Only administrators can do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class IsEmployerOrAdmin(BasePermission):
    message = "Only employers and administrators can do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (user.is_employer or user.is_staff))
