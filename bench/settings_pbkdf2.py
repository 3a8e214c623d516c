"""The project's settings with the hasher used before Argon2id first (bench/logins.py only)."""

from jobboard.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
