"""Load the demo data: a small set once, and on request generated data of a chosen size.

Without options: an admin, an employer, a job seeker, three categories and four jobs, written
through the services like any user's writes (so their events go out), and nothing when they are
there already. With `--employers`, `--seekers`, `--jobs` or `--applications`, also tops up
generated data to those totals in bulk, recording no events so that no email goes out for it
(`core/demo_data.py` says why and what is generated).
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core import demo_data
from core.accounts import services as account_services
from core.accounts.models import Role, User
from core.jobs import services as job_services
from core.jobs.models import Category

DEMO_PASSWORD = "demo-Pass-2026"  # noqa: S105  (local demo accounts, refused without DEBUG)

# Not "Backend": the README's walk-through creates that category itself, and refers to
# category 1 (Engineering) when it posts a job.
CATEGORIES = [("Engineering", "engineering"), ("Design", "design"), ("Data", "data")]
JOBS = [
    (
        "Senior Backend Engineer",
        "engineering",
        "Berlin",
        True,
        80_000,
        110_000,
        "Design and run the Django and PostgreSQL services behind our marketplace.",
    ),
    (
        "Python API Developer",
        "engineering",
        "Amsterdam",
        False,
        60_000,
        85_000,
        "Build REST APIs with Django REST framework, Celery and RabbitMQ.",
    ),
    (
        "Frontend Engineer (React)",
        "design",
        "Remote",
        True,
        55_000,
        80_000,
        "Ship accessible React interfaces on top of a well-documented JSON API.",
    ),
    (
        "Data Engineer",
        "data",
        "London",
        False,
        70_000,
        95_000,
        "Own the pipelines that move events from PostgreSQL into the warehouse.",
    ),
]


SIZES = ("employers", "seekers", "jobs", "applications")


class Command(BaseCommand):
    help = (
        "Load the demo data set (idempotent: does nothing when it is already there). With "
        "--employers/--seekers/--jobs/--applications, also generate demo data up to those "
        "totals in bulk; generated rows record no events, so they send no email."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Load even when DEBUG is off (known passwords!)."
        )
        for size in SIZES:
            parser.add_argument(
                f"--{size}",
                type=int,
                metavar="N",
                help=f"Generated {size} in total (adds only what is missing).",
            )
        parser.add_argument(
            "--seed", type=int, default=2026, help="Seed of the generated data (default 2026)."
        )

    def handle(self, *args, force: bool = False, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError("Demo accounts have known passwords; refusing with DEBUG off.")
        sizes = {size: options.get(size) for size in SIZES}
        self._load_small_set()
        if all(value is None for value in sizes.values()):
            return
        self.stdout.write("Generating demo data (bulk, no events: no emails)...")
        try:
            report = demo_data.load(
                **{size: value or 0 for size, value in sizes.items()},
                password=DEMO_PASSWORD,
                seed=options["seed"],
            )
        except demo_data.DemoDataError as exc:
            raise CommandError(str(exc)) from exc
        for size in SIZES:
            generated = getattr(report, size)
            self.stdout.write(f"  {size}: {generated.total} ({generated.created} new)")
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated demo data loaded. Accounts {demo_data.EMPLOYER_PREFIX}00001... and "
                f"{demo_data.SEEKER_PREFIX}00001... (password {DEMO_PASSWORD})."
            )
        )

    def _load_small_set(self) -> None:
        if User.objects.filter(username="demo_employer").exists():
            self.stdout.write("Demo data already loaded.")
            return
        admin = User(username="admin", email="admin@example.com", is_staff=True, is_superuser=True)
        admin.set_password(DEMO_PASSWORD)
        admin.save()
        employer = account_services.register_user(
            username="demo_employer",
            email="employer@example.com",
            password=DEMO_PASSWORD,
            role=Role.EMPLOYER,
        )
        account_services.register_user(
            username="demo_seeker",
            email="seeker@example.com",
            password=DEMO_PASSWORD,
            role=Role.JOB_SEEKER,
        )
        categories = {
            slug: Category.objects.filter(slug=slug).first()
            or job_services.create_category(name=name, slug=slug)
            for name, slug in CATEGORIES
        }
        for title, slug, location, remote, low, high, description in JOBS:
            job_services.create_job(
                employer=employer,
                fields={
                    "title": title,
                    "description": description,
                    "company_name": "Nexus Demo GmbH",
                    "location": location,
                    "remote": remote,
                    "employment_type": "full_time",
                    "category": categories[slug],
                    "salary_min": low,
                    "salary_max": high,
                    "salary_currency": "EUR",
                },
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded. Accounts (password {DEMO_PASSWORD}): admin, "
                "demo_employer, demo_seeker."
            )
        )
