from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Job board"

    def ready(self) -> None:
        # Every wait on PostgreSQL in this process is bounded (web, worker, beat, commands).
        from jobboard import database

        database.install()
