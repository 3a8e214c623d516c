"""The HTTP API: serializers, views, permissions and URLs over the services and selectors."""
