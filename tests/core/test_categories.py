"""Categories over HTTP: the public list with open-job counts, creation by employers and admins,
uniqueness of names and slugs, and admin-only renaming and deletion (refused while jobs use it).
"""

from __future__ import annotations

import pytest

from core.jobs import services
from core.jobs.models import Category, Job, JobStatus

LIST_URL = "/api/categories/"


def detail_url(pk: int) -> str:
    return f"/api/categories/{pk}/"


@pytest.fixture
def design(db) -> Category:
    return services.create_category(name="Design", slug="design")


# --- Public list ----------------------------------------------------------------------------


def test_anonymous_list_is_a_plain_json_array_of_every_category(anon_client, category, design):
    response = anon_client.get(LIST_URL)

    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    assert sorted(body, key=lambda item: item["id"]) == [
        {"id": category.pk, "name": "Backend", "slug": "backend", "open_jobs_count": 0},
        {"id": design.pk, "name": "Design", "slug": "design", "open_jobs_count": 0},
    ]


def test_list_is_sorted_by_name_whatever_the_creation_order(anon_client, db):
    for name in ("Zeta Ops", "Marketing", "Accounting"):
        services.create_category(name=name)

    response = anon_client.get(LIST_URL)

    assert response.status_code == 200
    assert [item["name"] for item in response.json()] == ["Accounting", "Marketing", "Zeta Ops"]


def test_open_jobs_count_counts_only_published_unexpired_not_deleted_jobs(
    anon_client, make_job, category, design
):
    make_job()
    make_job(title="Second open job")
    make_job(status=JobStatus.DRAFT)
    make_job(status=JobStatus.CLOSED)
    make_job(status=JobStatus.EXPIRED)
    make_job(expired=True)  # still "published" but past expires_at
    services.delete_job(job=make_job(title="Deleted job"))
    make_job(category=design)
    make_job(category=design, status=JobStatus.DRAFT)

    response = anon_client.get(LIST_URL)

    assert response.status_code == 200
    counts = {item["slug"]: item["open_jobs_count"] for item in response.json()}
    assert counts == {"backend": 2, "design": 1}


def test_category_detail_is_public_and_carries_its_open_jobs_count(anon_client, make_job, category):
    make_job()
    make_job(status=JobStatus.DRAFT)

    response = anon_client.get(detail_url(category.pk))

    assert response.status_code == 200
    assert response.json() == {
        "id": category.pk,
        "name": "Backend",
        "slug": "backend",
        "open_jobs_count": 1,
    }


# --- Create ---------------------------------------------------------------------------------


@pytest.mark.parametrize("client_fixture", ["employer_client", "admin_client_api"])
def test_employer_or_admin_creates_a_category_with_the_contract_body(db, request, client_fixture):
    client = request.getfixturevalue(client_fixture)

    response = client.post(LIST_URL, {"name": "Backend", "slug": "backend"}, format="json")

    assert response.status_code == 201
    body = response.json()
    created = Category.objects.get()
    assert body == {"id": created.pk, "name": "Backend", "slug": "backend", "open_jobs_count": 0}
    assert (created.name, created.slug) == ("Backend", "backend")


@pytest.mark.parametrize(
    ("client_fixture", "expected_status"),
    [("seeker_client", 403), ("anon_client", 401)],
)
def test_seeker_and_anonymous_cannot_create_a_category(
    db, request, client_fixture, expected_status
):
    client = request.getfixturevalue(client_fixture)

    response = client.post(LIST_URL, {"name": "Backend", "slug": "backend"}, format="json")

    assert response.status_code == expected_status
    assert "detail" in response.json()
    assert not Category.objects.exists()


@pytest.mark.parametrize(
    ("body", "error_field"),
    [
        ({"name": "Backend", "slug": "backend-2"}, "name"),
        ({"name": "BACKEND", "slug": "backend-3"}, "name"),
        ({"name": "backend", "slug": "backend-4"}, "name"),
        ({"name": "Backend Services", "slug": "backend"}, "slug"),
    ],
    ids=["same-name", "name-upper-case", "name-lower-case", "same-slug"],
)
def test_duplicate_name_case_insensitively_or_slug_is_a_400_field_error(
    employer_client, category, body, error_field
):
    response = employer_client.post(LIST_URL, body, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert error_field in errors
    assert isinstance(errors[error_field], list)
    assert errors[error_field]
    assert list(Category.objects.values_list("slug", flat=True)) == ["backend"]


def test_slug_is_generated_from_the_name_when_omitted(employer_client):
    response = employer_client.post(LIST_URL, {"name": "Data Science & ML"}, format="json")

    assert response.status_code == 201
    assert response.json()["slug"] == "data-science-ml"
    assert Category.objects.get().slug == "data-science-ml"


def test_generated_slug_colliding_with_an_existing_slug_is_a_400_on_slug(employer_client, category):
    response = employer_client.post(LIST_URL, {"name": "Backend!"}, format="json")

    assert response.status_code == 400
    assert "slug" in response.json()
    assert Category.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "error_field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "Back\x00end"}, "name"),
        ({"name": "Backend", "slug": "not a slug!"}, "slug"),
        ({"name": "!!!"}, "slug"),
    ],
    ids=["missing", "empty", "whitespace", "too-long", "nul-char", "bad-slug", "no-sluggable"],
)
def test_invalid_category_bodies_are_field_errors(employer_client, body, error_field):
    response = employer_client.post(LIST_URL, body, format="json")

    assert response.status_code == 400
    assert error_field in response.json()
    assert not Category.objects.exists()


# --- Update and delete (admin only) ---------------------------------------------------------


def test_admin_renames_a_category_with_put(admin_client_api, category):
    response = admin_client_api.put(
        detail_url(category.pk), {"name": "Backend Engineering", "slug": "backend-eng"}
    )

    assert response.status_code == 200
    assert response.json() == {
        "id": category.pk,
        "name": "Backend Engineering",
        "slug": "backend-eng",
        "open_jobs_count": 0,
    }
    category.refresh_from_db()
    assert (category.name, category.slug) == ("Backend Engineering", "backend-eng")


def test_admin_patches_only_the_slug(admin_client_api, category):
    response = admin_client_api.patch(detail_url(category.pk), {"slug": "server-side"})

    assert response.status_code == 200
    category.refresh_from_db()
    assert (category.name, category.slug) == ("Backend", "server-side")


def test_admin_may_change_the_case_of_a_category_own_name(admin_client_api, category):
    response = admin_client_api.patch(detail_url(category.pk), {"name": "BACKEND"})

    assert response.status_code == 200
    category.refresh_from_db()
    assert category.name == "BACKEND"


def test_renaming_to_another_category_name_is_a_400(admin_client_api, category, design):
    response = admin_client_api.patch(detail_url(design.pk), {"name": "backend"})

    assert response.status_code == 400
    assert "name" in response.json()
    design.refresh_from_db()
    assert design.name == "Design"


def test_admin_deletes_an_unused_category(admin_client_api, category):
    response = admin_client_api.delete(detail_url(category.pk))

    assert response.status_code == 204
    assert not Category.objects.filter(pk=category.pk).exists()


@pytest.mark.parametrize(
    "job_state",
    ["published", "draft", "closed", "deleted"],
)
def test_deleting_a_category_that_has_jobs_is_a_409_and_deletes_nothing(
    admin_client_api, make_job, category, job_state
):
    job = make_job(status=JobStatus.DRAFT if job_state == "draft" else JobStatus.PUBLISHED)
    if job_state == "closed":
        services.close_job(job=job)
    if job_state == "deleted":
        services.delete_job(job=job)

    response = admin_client_api.delete(detail_url(category.pk))

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert Category.objects.filter(pk=category.pk).exists()
    assert Job.objects.filter(pk=job.pk, category=category).exists()


@pytest.mark.parametrize(
    ("client_fixture", "expected_status"),
    [("employer_client", 403), ("seeker_client", 403), ("anon_client", 401)],
)
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_only_admins_may_change_or_delete_a_category(
    request, category, client_fixture, expected_status, method
):
    client = request.getfixturevalue(client_fixture)
    kwargs = {} if method == "delete" else {"data": {"name": "Hacked", "slug": "hacked"}}

    response = getattr(client, method)(detail_url(category.pk), **kwargs)

    assert response.status_code == expected_status
    category.refresh_from_db()
    assert (category.name, category.slug) == ("Backend", "backend")


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_unknown_category_id_is_a_json_404(admin_client_api, category, method):
    kwargs = {} if method in ("get", "delete") else {"data": {"name": "Ghost", "slug": "ghost"}}

    response = getattr(admin_client_api, method)(detail_url(category.pk + 1000), **kwargs)

    assert response.status_code == 404
    assert "detail" in response.json()
    assert Category.objects.count() == 1


def test_out_of_range_category_id_is_a_404_not_a_500(anon_client, category):
    response = anon_client.get(detail_url(99999999999999999999))

    assert response.status_code == 404
