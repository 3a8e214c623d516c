"""Celery tasks: the outbox relay and the subscribers of the event catalogue.

Each task takes ids, never objects, and is idempotent: running it twice for the same event has
the effect of running it once.
"""
