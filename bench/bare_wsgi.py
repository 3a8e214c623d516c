"""Bench-only WSGI entry point: the production app with `bench.urls` as its root URLconf.

    gunicorn bench.bare_wsgi --chdir <project root> --workers 2

Serves everything `jobboard.wsgi` serves plus `GET /bench/bare/` (see `bench/urls.py`), so the
cached listing and the bare view are measured in the same processes with the same settings.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobboard.settings")

from django.conf import settings
from django.core.wsgi import get_wsgi_application

settings.ROOT_URLCONF = "bench.urls"

application = get_wsgi_application()
