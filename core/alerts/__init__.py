"""Job alerts: saved searches that email a seeker the new jobs they match."""
