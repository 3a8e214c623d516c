"""The API documentation: the OpenAPI schema, Swagger UI and ReDoc.

The schema must describe every contract path, generate without warnings and validate; its
security scheme must make Swagger's "Authorize" with `Bearer <access_token>` (as the published
docs instruct) send exactly that header; both UIs must load with no internet connection, and
unknown API URLs answer JSON, not Django's HTML page.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.factories import PASSWORD

SCHEMA_URL = "/api/docs/swagger.json"

# The contract's requests: path -> methods that must be documented on it.
CONTRACT_OPERATIONS = {
    "/api/users/register/": {"post"},
    "/api/token/": {"post"},
    "/api/token/refresh/": {"post"},
    "/api/token/blacklist/": {"post"},
    "/api/categories/": {"get", "post"},
    "/api/jobs/create/": {"post"},
    "/api/jobs/": {"get"},
    "/api/applications/apply/": {"post"},
    "/api/applications/seeker/": {"get"},
    "/api/applications/employer/": {"get"},
}

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(anon_client) -> dict:
    response = anon_client.get(SCHEMA_URL)
    assert response.status_code == 200, response.content
    return response.json()


class AssetCollector(HTMLParser):
    """Collects the URLs a page loads: scripts, stylesheets, icons, preconnects, images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name in ("src", "href"):
            if tag in ("script", "link", "img") and attributes.get(name):
                self.urls.append((tag, attributes[name]))


def loaded_urls(html: str) -> list[tuple[str, str]]:
    collector = AssetCollector()
    collector.feed(html)
    return collector.urls


# --- Schema ---------------------------------------------------------------------------------


def test_schema_json_is_served_to_anonymous_clients(anon_client):
    response = anon_client.get(SCHEMA_URL)

    assert response.status_code == 200
    assert "json" in response["Content-Type"]
    body = response.json()
    assert body["openapi"].startswith("3.")
    assert body["info"]["title"]


def test_schema_documents_every_contract_path_and_method(schema):
    missing = {
        f"{method.upper()} {path}"
        for path, methods in CONTRACT_OPERATIONS.items()
        for method in methods
        if method not in schema["paths"].get(path, {})
    }

    assert not missing, sorted(missing)


def test_schema_generates_without_warnings_and_validates(tmp_path):
    target = tmp_path / "schema.yml"
    # Raises SchemaGenerationError on any warning or error, SchemaValidationError if invalid.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    document = yaml.safe_load(target.read_text())
    assert document["openapi"].startswith("3.")
    assert set(CONTRACT_OPERATIONS) <= set(document["paths"])


def test_component_names_have_no_collision_suffixes(schema):
    names = set(schema["components"]["schemas"])
    assert names
    collisions = sorted(
        name
        for name in names
        if (match := re.fullmatch(r"(.+?)(\d+)", name)) and match.group(1) in names
    )

    assert not collisions


# --- Swagger "Authorize" flow ---------------------------------------------------------------


def test_security_scheme_is_the_whole_authorization_header(schema):
    schemes = schema["components"]["securitySchemes"]
    me_security = schema["paths"]["/api/users/me/"]["get"]["security"]
    used = {name for requirement in me_security for name in requirement}

    assert used
    for name in used:
        assert schemes[name]["type"] == "apiKey", schemes[name]
        assert schemes[name]["in"] == "header"
        assert schemes[name]["name"] == "Authorization"
    # An http/bearer scheme would make Swagger prefix "Bearer " to what the user typed.
    assert not [s for s in schemes.values() if s.get("scheme", "").lower() == "bearer"]


def test_protected_contract_operations_name_the_header_scheme(schema):
    schemes = schema["components"]["securitySchemes"]
    header_schemes = {name for name, s in schemes.items() if s["type"] == "apiKey"}
    for path, method in [
        ("/api/jobs/create/", "post"),
        ("/api/applications/apply/", "post"),
        ("/api/applications/seeker/", "get"),
        ("/api/applications/employer/", "get"),
    ]:
        security = schema["paths"][path][method].get("security", [])
        assert {name for requirement in security for name in requirement} & header_schemes, path


def test_value_typed_into_authorize_is_accepted_as_the_authorization_header(seeker):
    """What Swagger sends for an apiKey header scheme is the typed text, verbatim."""
    tokens = APIClient().post(
        "/api/token/", {"username": seeker.username, "password": PASSWORD}, format="json"
    )
    assert tokens.status_code == 200
    typed_into_authorize = f"Bearer {tokens.json()['access']}"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=typed_into_authorize)

    response = client.get("/api/users/me/")

    assert response.status_code == 200, response.content
    assert response.json()["username"] == seeker.username


def test_authorize_value_without_the_prefix_is_refused(seeker):
    tokens = APIClient().post(
        "/api/token/", {"username": seeker.username, "password": PASSWORD}, format="json"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=tokens.json()["access"])

    assert client.get("/api/users/me/").status_code == 401


# --- UIs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/docs/", "/api/docs/redoc/"])
def test_docs_page_is_html_pointing_at_the_schema(anon_client, url):
    response = anon_client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    if url == "/api/docs/":
        # Swagger UI's start-up script is a file of its own (no inline script under the CSP).
        assert f'src="{url}?script="' in text
        script = anon_client.get(f"{url}?script=")
        assert script["Content-Type"].startswith("application/javascript")
        text = script.content.decode()
    assert SCHEMA_URL in text


@pytest.mark.parametrize("url", ["/api/docs/", "/api/docs/redoc/"])
def test_docs_page_loads_only_local_static_assets(anon_client, url):
    html = anon_client.get(url).content.decode()
    urls = loaded_urls(html)

    assert any(tag == "script" for tag, _ in urls), urls
    # Swagger UI's start-up script comes from the page's own URL (`?script=`).
    urls = [(tag, u) for tag, u in urls if u != f"{url}?script="]
    external = [u for _, u in urls if not u.startswith("/static/")]
    assert not external, f"{url} loads from outside the app: {external}"
    missing = [u for _, u in urls if finders.find(u.removeprefix("/static/").split("?")[0]) is None]
    assert not missing, f"{url} references static files that do not exist: {missing}"


def test_unknown_api_url_is_a_json_404(anon_client):
    response = anon_client.get("/api/nope/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict)
    assert "not found" in body["detail"].lower()


# --- Content-Security-Policy (tests/test_docs_browser.py runs the pages in a browser) ----------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/api/docs/", "script-src 'self';"),
        ("/api/docs/redoc/", "worker-src blob:"),
        ("/admin/login/", "form-action 'self'"),
        ("/api/jobs/", "default-src 'none'; form-action 'none'"),
        ("/api/no/such/route/", "default-src 'none'"),
    ],
)
def test_every_page_has_its_content_security_policy(anon_client, url, expected):
    policy = anon_client.get(url)["Content-Security-Policy"]
    assert expected in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[-1].split(";")[0]


def test_a_page_may_bring_its_own_policy(rf, settings):
    from django.http import HttpResponse

    from core.middleware import ContentSecurityPolicyMiddleware

    def graphiql(request):
        response = HttpResponse("<html></html>")
        response.content_security_policy = "default-src 'self'"
        return response

    middleware = ContentSecurityPolicyMiddleware(graphiql)
    assert middleware(rf.get("/api/graphql/"))["Content-Security-Policy"] == "default-src 'self'"
