"""A real page (in process, ``clipsketch web --server`` and ``clipsketch serve --web``, the last two in front of a
real ``clipsketch serve``) asked by a plain HTTP client as another site would: refused."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest

from tests.web.conftest import SETUPS


def ask(url: str, method: str = "GET", headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, method=method, headers=headers or {}, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, {}
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.mark.parametrize("setup", [SETUPS[0], *(pytest.param(s, marks=pytest.mark.slow) for s in SETUPS[1:])])
def test_a_foreign_origin_and_a_foreign_host_are_refused(setup, open_page):
    page = open_page(setup)
    evil = {"Origin": "http://evil.example"}
    status, body = ask(page.url + "api/jobs", "POST", evil)
    assert status == 403 and body["error"] == "a request from another site (http://evil.example) was refused"
    assert ask(page.url + "api/jobs/anything/cancel", "POST", {"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert ask(page.url + "api/events?jobs=anything.0", headers=evil)[0] == 403
    own = {"Origin": page.url.rstrip("/")}
    assert ask(page.url + "api/jobs/anything/cancel", "POST", own)[0] == 404  # past the checks: no such job
    port = urlsplit(page.url).port
    status, body = ask(page.url + "api/info", headers={"Host": f"evil.example:{port}"})  # DNS rebinding
    assert status == 403 and "answers only as" in body["error"]
    assert ask(page.url + "api/info", headers={"Host": f"localhost:{port}"})[0] == 200
