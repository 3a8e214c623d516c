"""Locust scenario of the load test: anonymous browsing and search, seekers applying, employers
posting. `bench/load_test.py` runs it against a seeded system and checks the results; it can also
run on its own against any deployment seeded the same way:

    locust -f bench/locustfile.py --host http://127.0.0.1:8000

The accounts are the ones `bench/load_test.py` seeds: `load_seeker<n>` and `load_employer<n>`
with one password (`LOAD_SEEKERS`, `LOAD_EMPLOYERS`, `LOAD_PASSWORD`). Requests are named by
endpoint template (`/api/jobs/{id}/`; listings by the kind of query), so the statistics are per
endpoint. With `LOAD_STATUS_FILE` set, the count of every HTTP status per endpoint, and the time
of every login, are written there as JSON when locust quits: locust's own statistics know
failures, not which were 5xx, and `--reset-stats` leaves the logins out of them.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

from locust import FastHttpUser, between, events, task

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seeding import (  # noqa: E402
    CODENAME_ADJECTIVES,
    CODENAME_ANIMALS,
    COMPANY_NAMES,
    FIELDS,
    LOCATIONS,
    ROLES,
    SKILLS,
)

SEEKERS = int(os.environ.get("LOAD_SEEKERS", "500"))
EMPLOYERS = int(os.environ.get("LOAD_EMPLOYERS", "100"))
PASSWORD = os.environ.get("LOAD_PASSWORD", "load-Pass-2026")
STATUS_FILE = os.environ.get("LOAD_STATUS_FILE", "")

EMPLOYMENT_TYPES = ["full_time", "part_time", "contract", "internship", "temporary"]
ORDERINGS = ["-published_at", "created_at", "-created_at", "salary", "-salary"]
# What people type into a job board's search box: a skill, a role, a place, or two of them.
SEARCH_TERMS = [
    *SKILLS,
    *(field.lower() for field in FIELDS),
    *(role.lower() for role in ROLES),
    *(location.lower() for location in LOCATIONS),
    "remote",
    "senior",
    "junior",
    "lead",
]

# Seeker accounts are handed out in turn; when there are more simulated seekers than accounts,
# the ones sharing an account share what it applied to, so it never applies twice to one job.
_seeker_numbers = itertools.count()
_employer_numbers = itertools.count()
_applied: dict[str, set[int]] = defaultdict(set)
_statuses: dict[str, Counter] = defaultdict(Counter)
_login_ms: list[float] = []


@events.request.add_listener
def _count_status(request_type, name, response_time, response=None, **kwargs) -> None:
    # 0 stands for no HTTP answer at all (connection refused or reset, timeout).
    status = getattr(response, "status_code", None) or 0
    _statuses[f"{request_type} {name}"][str(status)] += 1
    if name == "/api/token/":
        # Logins happen while users start; kept here as `--reset-stats` drops them from the CSV.
        _login_ms.append(response_time)


@events.quitting.add_listener
def _write_statuses(environment, **kwargs) -> None:
    if STATUS_FILE:
        Path(STATUS_FILE).write_text(json.dumps({"statuses": _statuses, "login_ms": _login_ms}))


def search_words() -> str:
    roll = random.random()
    if roll < 0.55:
        return random.choice(SEARCH_TERMS)
    if roll < 0.9:
        return f"{random.choice(SEARCH_TERMS)} {random.choice(SEARCH_TERMS)}"
    if roll < 0.95:
        return random.choice(COMPANY_NAMES).lower()
    # A project codename: a rare word, so the search cannot stop early on a common one.
    return random.choice(CODENAME_ADJECTIVES) + random.choice(CODENAME_ANIMALS)


class Browsing:
    """The public pages everyone reads; mixed into each user class below."""

    categories: list[dict]
    seen_jobs: list[int]

    def load_categories(self) -> None:
        with self.client.get(
            "/api/categories/", name="/api/categories/", catch_response=True
        ) as response:
            if response.status_code == 200:
                self.categories = response.json()
        self.seen_jobs = []

    def _listing(self, params: dict, name: str) -> dict | None:
        with self.client.get(
            "/api/jobs/", params=params, name=name, catch_response=True
        ) as response:
            if response.status_code != 200:
                return None
            page = response.json()
        # What a reader can click next: the jobs on the page just shown.
        ids = [job["id"] for job in page["results"]]
        if ids:
            self.seen_jobs = ids
        return page

    def browse_listing(self) -> None:
        params = {}
        if random.random() < 0.3:
            params["ordering"] = random.choice(ORDERINGS)
        if random.random() < 0.3:
            params["page"] = random.randint(2, 10)
        self._listing(params, "/api/jobs/")

    def browse_category(self) -> None:
        if not self.categories:
            return
        category = random.choice(self.categories)
        params = {"category": category["slug"] if random.random() < 0.7 else category["id"]}
        if random.random() < 0.2:
            params["page"] = 2
        self._listing(params, "/api/jobs/?category=")

    def browse_filtered(self) -> None:
        params: dict = {}
        if random.random() < 0.5:
            params["employment_type"] = random.choice(EMPLOYMENT_TYPES)
        if random.random() < 0.4:
            params["remote"] = "true"
        if random.random() < 0.4:
            params["location"] = random.choice(LOCATIONS)
        if random.random() < 0.4 or not params:
            params["salary_min"] = random.choice([50_000, 60_000, 70_000, 80_000])
        if random.random() < 0.3:
            params["ordering"] = random.choice(ORDERINGS)
        self._listing(params, "/api/jobs/?filters")

    def search(self) -> None:
        params: dict = {"search": search_words()}
        if random.random() < 0.2 and self.categories:
            params["category"] = random.choice(self.categories)["slug"]
        page = self._listing(params, "/api/jobs/?search=")
        # Some readers look at the second page, when there is one (a rare word has none).
        if page and page["next"] and random.random() < 0.15:
            self._listing({**params, "page": 2}, "/api/jobs/?search=")

    def job_detail(self) -> None:
        if self.seen_jobs:
            job_id = random.choice(self.seen_jobs)
            self.client.get(f"/api/jobs/{job_id}/", name="/api/jobs/{id}/")

    def category_list(self) -> None:
        self.client.get("/api/categories/", name="/api/categories/")


class SignedIn:
    """Log in once per simulated user; every later request carries the access token."""

    def log_in(self, username: str) -> bool:
        with self.client.post(
            "/api/token/",
            json={"username": username, "password": PASSWORD},
            name="/api/token/",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"login of {username} answered {response.status_code}")
                return False
            self.client.auth_header = f"Bearer {response.json()['access']}"
        return True


class AnonymousBrowser(Browsing, FastHttpUser):
    """Reads without an account: listings, categories, filters, search, job pages."""

    weight = 70
    wait_time = between(0.5, 2)

    def on_start(self) -> None:
        self.load_categories()

    @task(6)
    def listing(self) -> None:
        self.browse_listing()

    @task(4)
    def category_page(self) -> None:
        self.browse_category()

    @task(3)
    def filtered(self) -> None:
        self.browse_filtered()

    @task(5)
    def search_jobs(self) -> None:
        self.search()

    @task(7)
    def detail(self) -> None:
        self.job_detail()

    @task(1)
    def categories_page(self) -> None:
        self.category_list()


class Seeker(Browsing, SignedIn, FastHttpUser):
    """A job seeker: searches, reads jobs, applies to open ones (each at most once), and checks
    their applications."""

    weight = 22
    wait_time = between(0.5, 2)

    def on_start(self) -> None:
        self.username = f"load_seeker{next(_seeker_numbers) % SEEKERS}"
        self.ready = self.log_in(self.username)
        self.load_categories()
        if self.ready:
            self.load_applied()

    def load_applied(self) -> None:
        # An earlier run (or step) may have used this account: learn what it applied to.
        applied = _applied[self.username]
        url: str | None = "/api/applications/seeker/?page_size=100"
        while url:
            with self.client.get(
                url, name="/api/applications/seeker/", catch_response=True
            ) as response:
                if response.status_code != 200:
                    return
                body = response.json()
                applied.update(application["job"]["id"] for application in body["results"])
                url = body["next"]

    @task(5)
    def search_jobs(self) -> None:
        self.search()

    @task(3)
    def listing(self) -> None:
        if random.random() < 0.5:
            self.browse_category()
        else:
            self.browse_listing()

    @task(4)
    def detail(self) -> None:
        self.job_detail()

    @task(2)
    def apply(self) -> None:
        if not self.ready:
            return
        applied = _applied[self.username]
        candidates = [job_id for job_id in self.seen_jobs if job_id not in applied]
        if not candidates:
            return
        job_id = random.choice(candidates)
        # Claimed before the request: another user on this account must not pick it meanwhile.
        applied.add(job_id)
        self.client.post(
            "/api/applications/apply/",
            json={
                "job": job_id,
                "cover_letter": f"Hello, I am {self.username} and I would like this job.",
                "resume_url": f"https://example.com/cv/{self.username}.pdf",
            },
            name="/api/applications/apply/",
        )

    @task(1)
    def my_applications(self) -> None:
        if self.ready:
            self.client.get("/api/applications/seeker/", name="/api/applications/seeker/")


class Employer(Browsing, SignedIn, FastHttpUser):
    """An employer: reads the applications to their jobs, looks at their postings, now and
    then posts a new job."""

    weight = 8
    wait_time = between(0.5, 2)

    def on_start(self) -> None:
        self.username = f"load_employer{next(_employer_numbers) % EMPLOYERS}"
        self.ready = self.log_in(self.username)
        self.load_categories()

    @task(4)
    def applications(self) -> None:
        if self.ready:
            self.client.get("/api/applications/employer/", name="/api/applications/employer/")

    @task(2)
    def my_jobs(self) -> None:
        if self.ready:
            self.client.get("/api/jobs/mine/", name="/api/jobs/mine/")

    @task(2)
    def listing(self) -> None:
        self.browse_listing()

    @task(1)
    def post_job(self) -> None:
        if not (self.ready and self.categories):
            return
        field, role = random.choice(FIELDS), random.choice(ROLES)
        location = random.choice(LOCATIONS)
        salary_min = random.randrange(40_000, 100_000, 5_000)
        self.client.post(
            "/api/jobs/create/",
            json={
                "title": f"{field} {role}",
                "description": (
                    f"We are hiring a {field} {role} in {location}. Skills: "
                    f"{', '.join(random.sample(SKILLS, 3))}. Flexible hours, remote friendly."
                ),
                "company_name": f"{random.choice(COMPANY_NAMES)} Labs",
                "location": location,
                "remote": random.random() < 0.3,
                "employment_type": random.choice(EMPLOYMENT_TYPES),
                "category": random.choice(self.categories)["id"],
                "salary_min": salary_min,
                "salary_max": salary_min + 30_000,
                "salary_currency": "EUR",
            },
            name="/api/jobs/create/",
        )
