"""Accounts: users with exactly one role (employer or job seeker), their passwords and tokens."""
