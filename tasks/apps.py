from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = "Background tasks"

    def ready(self) -> None:
        # Importing the task modules registers each subscriber with core's registry; the relay
        # becomes the publisher core calls after a transaction with events commits.
        from core.outbox import events
        from core.webhooks import services as webhook_services
        from tasks import alerts, listings, maintenance, notifications, relay, webhooks  # noqa: F401

        events.set_publisher(relay.publish_after_commit)
        webhook_services.set_dispatcher(webhooks.start_attempts)
