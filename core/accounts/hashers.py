"""The password hasher of new and upgraded passwords: Argon2id with the project's parameters."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Argon2id at OWASP's Password Storage Cheat Sheet recommendation (2025): m=46 MiB, t=1,
    p=1 is its first listed configuration; this uses t=2 on top, so it is above it.

    Django's stock parameters (100 MiB, t=2, p=8) ask for eight lanes, which two cores run
    mostly one after another, and 100 MiB per concurrent login. The algorithm name stays
    Django's `argon2`, so hashes made by either verify, and a hash with other parameters is
    re-hashed at its next successful login (`must_update`).
    """

    time_cost = 2
    memory_cost = 47104  # KiB: 46 MiB
    parallelism = 1
