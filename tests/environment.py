"""Test-run environment, loaded as a pytest plugin before Django's settings are imported."""

import os
import tempfile

# The settings refuse to start without a key when DEBUG is off, as production must.
os.environ.setdefault("DJANGO_SECRET_KEY", "insecure-key-for-the-test-suite-only")
# Keep the run's files (SQLite database, file cache, static root) out of the working tree.
os.environ.setdefault("JOBBOARD_VAR_DIR", tempfile.mkdtemp(prefix="jobboard-test-"))
os.makedirs(os.path.join(os.environ["JOBBOARD_VAR_DIR"], "static"), exist_ok=True)
