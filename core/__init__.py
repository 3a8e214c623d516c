"""The job board domain: models, services (writes), selectors (reads), events and the HTTP API."""
