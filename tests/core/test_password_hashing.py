"""Passwords are stored with Argon2id; hashes stored before it (PBKDF2) still log in and are
re-hashed with Argon2id at that login."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher, identify_hasher

from core.accounts.hashers import Argon2idPasswordHasher
from core.accounts.models import Role, User
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/token/"


@pytest.fixture
def production_hashers(settings):
    """The hashers as shipped, not the fast one the rest of the suite uses."""
    from jobboard import settings as shipped

    settings.PASSWORD_HASHERS = shipped.PASSWORD_HASHERS


def test_shipped_hasher_is_argon2id_at_or_above_owasp_minimum():
    from jobboard import settings as shipped

    assert shipped.PASSWORD_HASHERS[0] == "core.accounts.hashers.Argon2idPasswordHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" in shipped.PASSWORD_HASHERS
    hasher = Argon2idPasswordHasher()
    # OWASP: Argon2id with m >= 19 MiB and t >= 2, or m >= 46 MiB and t >= 1, p = 1.
    assert hasher.memory_cost >= 46 * 1024
    assert hasher.time_cost >= 1
    assert hasher.parallelism >= 1


def test_registration_stores_an_argon2id_hash(production_hashers, anon_client):
    answer = anon_client.post(
        "/api/users/register/",
        {"username": "ada", "password": PASSWORD, "email": "ada@example.com", "is_employer": True},
    )
    assert answer.status_code == 201, answer.content
    stored = User.objects.get(username="ada").password
    assert stored.startswith("argon2$argon2id$v=19$m=47104,t=2,p=1$")
    assert PASSWORD not in stored


def test_pbkdf2_hash_logs_in_and_is_upgraded_to_argon2id(production_hashers, anon_client):
    user = make_user(Role.JOB_SEEKER, username="legacy")
    hasher = PBKDF2PasswordHasher()
    User.objects.filter(pk=user.pk).update(password=hasher.encode(PASSWORD, hasher.salt()))

    answer = anon_client.post(TOKEN_URL, {"username": "legacy", "password": PASSWORD})

    assert answer.status_code == 200, answer.content
    stored = User.objects.get(pk=user.pk).password
    assert identify_hasher(stored).algorithm == "argon2"
    assert stored.startswith("argon2$argon2id$")
    # The upgraded hash keeps working, and a wrong password still fails against it.
    again = anon_client.post(TOKEN_URL, {"username": "legacy", "password": PASSWORD})
    assert again.status_code == 200
    wrong = anon_client.post(TOKEN_URL, {"username": "legacy", "password": "not-it-2026"})
    assert wrong.status_code == 401


def test_argon2_hash_with_weaker_parameters_is_upgraded_at_login(production_hashers, anon_client):
    user = make_user(Role.JOB_SEEKER, username="weak")

    class Weaker(Argon2idPasswordHasher):
        memory_cost = 8192

    weak = Weaker()
    User.objects.filter(pk=user.pk).update(password=weak.encode(PASSWORD, weak.salt()))

    answer = anon_client.post(TOKEN_URL, {"username": "weak", "password": PASSWORD})
    assert answer.status_code == 200
    assert "m=47104,t=2,p=1" in User.objects.get(pk=user.pk).password
