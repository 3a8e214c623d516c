"""A category write shows in the cached category list at once: no job event covers it."""

from __future__ import annotations

import pytest

from core.jobs import listing_cache

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cache_on(settings):
    settings.LISTINGS_CACHE_ENABLED = True
    listing_cache.forget_local()
    yield
    listing_cache.forget_local()


def slugs(client) -> list[str]:
    response = client.get("/api/categories/")
    assert response.status_code == 200
    return [category["slug"] for category in response.json()]


def test_created_renamed_and_deleted_categories_show_at_once(
    cache_on, anon_client, employer_client, admin_client_api, settings
):
    settings.LISTING_LOCAL_REVALIDATE_SECONDS = 0  # this process re-reads the generation
    assert slugs(anon_client) == []  # cached, empty

    response = employer_client.post("/api/categories/", {"name": "Backend"}, format="json")
    assert response.status_code == 201
    assert slugs(anon_client) == ["backend"]

    category_id = response.json()["id"]
    response = admin_client_api.patch(
        f"/api/categories/{category_id}/", {"slug": "server-side"}, format="json"
    )
    assert response.status_code == 200
    assert slugs(anon_client) == ["server-side"]

    assert admin_client_api.delete(f"/api/categories/{category_id}/").status_code == 204
    assert slugs(anon_client) == []
