"""The public listing's `next` and `previous` are absolute on the scheme and host the client
called (DRF's convention), cached bytes or not.

The listings cache stores one body for every host, its links host-relative; each answer puts
the caller's scheme and host in front of them (`core.api.listings.absolute_links`), on DRF's path,
on the fast path before DRF and for bodies the listings worker warmed.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from core.api import listings
from core.jobs import listing_cache
from core.jobs.selectors import JobListFilters

LIST_URL = "/api/jobs/"
HOSTS = ["api.one.test", "jobs.two.test:8123"]


@pytest.fixture
def three_jobs(make_job, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "api.one.test", "jobs.two.test"]
    return [make_job(title=f"Job {n}") for n in range(3)]


def page(host: str, query: str = "page=2&page_size=1", **headers):
    return APIClient().get(f"{LIST_URL}?{query}", HTTP_HOST=host, **headers)


def stored_body(filters: JobListFilters, page_number: int, page_size: int) -> bytes:
    name = listing_cache.job_list_name(filters, page_number, page_size)
    key = f"listings:{listing_cache.current_generation()}:{name}"
    return cache.get(key).body


@pytest.mark.usefixtures("listings_cache_on")
def test_two_hosts_get_links_on_their_own_host_from_one_cached_body(three_jobs):
    first = page(HOSTS[0])
    second = page(HOSTS[1])  # the same stored bytes (a hit), another host
    again = page(HOSTS[0])  # and this process's remembered copy, before DRF

    assert first.json()["next"] == "http://api.one.test/api/jobs/?page=3&page_size=1"
    assert first.json()["previous"] == "http://api.one.test/api/jobs/?page_size=1"
    assert second.json()["next"] == "http://jobs.two.test:8123/api/jobs/?page=3&page_size=1"
    assert second.json()["previous"] == "http://jobs.two.test:8123/api/jobs/?page_size=1"
    assert again.content == first.content
    assert first["ETag"] == second["ETag"]  # one stored version of the page
    stored = stored_body(JobListFilters(), 2, 1)
    assert b'"next":"/api/jobs/?page=3&page_size=1"' in stored
    assert b"one.test" not in stored
    assert b"two.test" not in stored


@pytest.mark.usefixtures("listings_cache_on")
def test_a_page_the_worker_warmed_links_to_the_callers_host(three_jobs, make_job, monkeypatch):
    for n in range(18):  # 21 jobs: the warmed first page (20 a page) has a next page
        make_job(title=f"More {n}")
    assert listings.warm() >= 1
    assert b'"next":"/api/jobs/?page=2"' in stored_body(JobListFilters(), 1, 20)
    monkeypatch.setattr(listings, "render_job_list", pytest.fail)  # served as warmed

    response = APIClient().get(LIST_URL, HTTP_HOST=HOSTS[1])

    assert response.json()["next"] == "http://jobs.two.test:8123/api/jobs/?page=2"
    assert response.json()["previous"] is None


def test_without_the_cache_the_links_follow_the_host_too(three_jobs):
    response = page(HOSTS[0], "page=2&page_size=1&search=Job")
    assert response.json()["next"] == (
        "http://api.one.test/api/jobs/?search=Job&page=3&page_size=1"
    )


@pytest.mark.usefixtures("listings_cache_on")
def test_https_behind_the_proxy_is_the_links_scheme(three_jobs, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = page(HOSTS[0], HTTP_X_FORWARDED_PROTO="https")
    assert response.json()["next"] == "https://api.one.test/api/jobs/?page=3&page_size=1"


def test_a_host_that_is_not_allowed_gets_no_links_but_a_400(three_jobs):
    response = page("evil.example")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert b"evil.example" not in response.content
