"""The project's settings with stock simplejwt authentication, which skips the session check
(bench/logins.py only: the baseline of what the check costs)."""

from jobboard.settings import *  # noqa: F403
from jobboard.settings import REST_FRAMEWORK

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
}
