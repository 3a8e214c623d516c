"""WSGI entry point (gunicorn jobboard.wsgi)."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from jobboard import database

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobboard.settings")

application = get_wsgi_application()

# A web process waits for no database answer longer than a request may: its requests answer 503
# instead (jobboard/database.py).
database.bound_every_wait(settings.DATABASE_REQUEST_TIMEOUT)
