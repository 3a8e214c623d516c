"""The Celery application of Nexus Job Board (`celery -A worker ...`)."""

from worker.celery import app

__all__ = ["app"]
