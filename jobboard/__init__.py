"""The Django project of Nexus Job Board: settings, root URLs, WSGI/ASGI entry points."""

# Load the Celery app with Django, so tasks bind to it and the web process can publish.
from worker import app as celery_app

__all__ = ["celery_app"]
