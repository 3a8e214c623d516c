"""The Django project of Nexus Job Board: settings, root URLs, WSGI/ASGI entry points."""
