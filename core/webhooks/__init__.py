"""Signed outbound webhooks: employers' endpoints, one delivery per (event, endpoint), attempts."""
