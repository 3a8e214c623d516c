"""ASGI entry point, for servers that speak ASGI."""

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

from jobboard import database

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobboard.settings")

application = get_asgi_application()

# A web process waits for no database answer longer than a request may: its requests answer 503
# instead (jobboard/database.py).
database.bound_every_wait(settings.DATABASE_REQUEST_TIMEOUT)
