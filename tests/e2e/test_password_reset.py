"""A password reset end to end: the API, the outbox, a real worker and an SMTP server."""

from __future__ import annotations

import re

import pytest

from core.accounts.models import Role
from core.api.accounts import session_refresh_token
from tests.e2e.conftest import wait_until
from tests.factories import make_user

pytestmark = pytest.mark.e2e

LINK = "https://front.test/reset?uid={uid}&token={token}"


def test_the_reset_email_arrives_and_its_link_works_once(start_web, start_celery, smtp_sink):
    import json
    import urllib.error
    import urllib.request

    def call(method: str, path: str, body: dict | None = None, access: str = "") -> int:
        headers = {"Content-Type": "application/json"}
        if access:
            headers["Authorization"] = f"Bearer {access}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(web.base + path, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    seeker = make_user(Role.JOB_SEEKER, username="forgetful", email="forgetful@example.com")
    old_access = str(session_refresh_token(seeker).access_token)
    web = start_web(PASSWORD_RESET_URL=LINK)
    start_celery(PASSWORD_RESET_URL=LINK)
    assert call("GET", "/api/users/me/", access=old_access) == 200

    assert call("POST", "/api/users/password-reset/", {"email": "forgetful@example.com"}) == 202
    assert call("POST", "/api/users/password-reset/", {"email": "stranger@example.com"}) == 202

    wait_until(lambda: smtp_sink.count() >= 1, timeout=20, what="the reset email")
    (received,) = smtp_sink.received
    assert received.envelope_to == ["forgetful@example.com"]
    uid, token = re.search(r"uid=([\w-]+)&token=([\w-]+)", received.text()).groups()
    body = {"uid": uid, "token": token, "new_password": "Purple-Giraffe-Lantern-42"}

    assert call("POST", "/api/users/password-reset/confirm/", body) == 204
    assert call("POST", "/api/users/password-reset/confirm/", body) == 400
    assert call("GET", "/api/users/me/", access=old_access) == 401
    assert call("POST", "/api/jobs/", {"title": "x"}, access=old_access) == 401
