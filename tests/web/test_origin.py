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


@pytest.mark.slow
@pytest.mark.system  # openssl makes the certificate
def test_serve_web_with_tls_serves_the_page_over_https_and_sketches_on_its_server(serve_process, tmp_path,
                                                                                   photo_bytes):
    import ssl
    import subprocess

    import httpx2

    from tests.conftest import TINY_SERVE_OPTIONS

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    process, _ = serve_process(*TINY_SERVE_OPTIONS, "--tls-cert", str(cert), "--tls-key", str(key), "--token", "t0k",
                               "--web", "0.0.0.0:0")  # off loopback: the page needs the token
    line = process.stdout.readline()
    url = next(word for word in line.split() if word.startswith("https://"))
    with httpx2.Client(base_url=url, verify=ssl.create_default_context(cafile=str(cert)), timeout=60) as client:
        assert client.get("/").status_code == 200
        assert client.get("/api/jobs/anything").status_code == 401
        given = client.post("/api/token", json={"token": "t0k"}, headers={"Origin": url.rstrip("/")})
        assert "Secure" in given.headers["set-cookie"] and "HttpOnly" in given.headers["set-cookie"]
        job = client.post("/api/jobs", files={"photo": ("cat.png", photo_bytes, "image/png")},
                          data={"strokes": "3", "iterations": "3", "seeds": "1", "mask": "off"},
                          headers={"Origin": url.rstrip("/")}).json()["job"]
        with client.stream("GET", f"/api/jobs/{job['id']}/events") as stream:
            kinds = [json.loads(line[6:])["type"] for line in stream.iter_lines() if line.startswith("data: ")]
    assert kinds[-1] == "done" and "started" in kinds
