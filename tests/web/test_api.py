"""The page's HTTP API without a browser (Starlette's TestClient, a tiny engine in process): the form read into
options, jobs and their events, files and zips, the refusals (the server's messages, 400/413), the queue, Cancel
and Use this, and the safety checks (Host, Origin, the token cookie, no paths)."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import fields

import pytest
from lxml import etree
from starlette.testclient import TestClient

from clipsketch.core.limits import Limits
from clipsketch.core.options import OptionError, SketchOptions
from clipsketch.session import InProcess
from clipsketch.web.app import COOKIE, create_app, loopback_hosts
from clipsketch.web.form import form_options
from clipsketch.web.jobs import PREVIEW_EVERY, Dispatcher, safe_name

from tests.conftest import tiny_engine

BASE = "http://127.0.0.1:8150"
QUICK = {"strokes": "3 4", "iterations": "4", "seeds": "1", "mask": "off"}
LONG = {"strokes": "3", "iterations": "9000", "seeds": "1", "mask": "off"}


@pytest.fixture(scope="module")
def engine(tiny_model_configs):
    return tiny_engine()


@pytest.fixture
def make_client(engine):
    made = []

    def make(token: str | None = None, hosts=loopback_hosts(8150), limits: Limits | None = None,
             base: str = BASE) -> TestClient:
        dispatcher = Dispatcher([(InProcess(engine, PREVIEW_EVERY), 1)])
        client = TestClient(create_app(dispatcher, token, hosts, limits), base_url=base)
        made.append(dispatcher)
        return client

    yield make
    for dispatcher in made:
        dispatcher.close()


@pytest.fixture
def client(make_client):
    return make_client()


def submit(client: TestClient, photo: bytes, form: dict, name: str = "cat.png", **extra):
    return client.post("/api/jobs", files={"photo": (name, photo, "image/png"), **extra}, data=form)


def events(client: TestClient, job_id: str) -> list[dict]:
    seen = []
    with client.stream("GET", f"/api/jobs/{job_id}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))
    return seen


def wait_for_event(client: TestClient, job_id: str, kind: str) -> None:
    with client.stream("GET", f"/api/jobs/{job_id}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data: ") and json.loads(line[6:])["type"] == kind:
                return


# --- the form ---

def test_the_form_becomes_the_options_the_command_line_would_give():
    options = form_options({"strokes": "4, 8 16", "line": "one-line", "mask": "off", "schedule": "reference",
                            "seed": "7", "iterations": "50", "seeds": "2", "width": "2.5", "color": "#ff0000",
                            "init": "contour", "reseed": "on"})
    assert options == SketchOptions(strokes=(4, 8, 16), one_line=True, mask=False, schedule="reference", seed=7,
                                    iterations=50, seeds=2, width=2.5, color=(1.0, 0.0, 0.0, 1.0), init="contour",
                                    reseed=True)
    assert form_options({}) == SketchOptions()
    assert form_options({"line": "tapered", "mask": "auto", "color": "", "width": " "}) == SketchOptions(line="tapered")


@pytest.mark.parametrize("form, field, message", [
    ({"strokes": "4 x"}, "strokes", "stroke counts must be whole numbers"),
    ({"strokes": "300"}, "strokes", "stroke count must be between 1 and 256, got 300"),  # the server's limit
    ({"iterations": "20000"}, "iterations", "iterations must be between 1 and 10000"),
    ({"line": "dotted"}, "line", "line must be one of uniform, tapered, weighted, one-line"),
    ({"mask": "maybe"}, "mask", "mask must be auto, on or off"),
    ({"width": "wide"}, "width", "width must be a number"),
    ({"color": "not-a-colour"}, "color", "color 'not-a-colour' is not a CSS color"),
    ({"strokes": "4 4"}, "strokes", "stroke counts repeat"),
])
def test_a_bad_field_is_refused_with_the_contracts_message(form, field, message):
    with pytest.raises(OptionError, match=message) as refused:
        form_options(form)
    assert refused.value.field == field


WEB_LEFT_OUT = {
    "canvas_size": "an engine setting for tests and benchmarks",
    "margin": "an engine setting for tests and benchmarks",
    "loss": "an engine setting for tests and benchmarks",
    "target": "an engine setting for tests and benchmarks",
    "lines": "an engine setting for tests and benchmarks",
    "one_line": "the line field's one-line choice",
    "start": "Refine's SVG file, read by svg_to_start_strokes",
}


def test_every_contract_field_is_a_form_field_or_left_out_with_a_reason():
    from clipsketch.web.form import FIELDS

    names = {f.name for f in fields(SketchOptions)}
    assert names - set(WEB_LEFT_OUT) == set(FIELDS)


# --- jobs, events, files ---

def test_a_job_streams_its_events_then_its_files_download_one_by_one_and_as_a_zip(client, photo_bytes):
    answer = submit(client, photo_bytes, QUICK, name="../../etc/My Cat!.png")
    assert answer.status_code == 201
    job = answer.json()["job"]
    assert job["name"] == "My-Cat" and (job["width"], job["height"]) == (451, 300) and job["strokes"] == [3, 4]
    seen = events(client, job["id"])
    kinds = [event["type"] for event in seen]
    assert kinds[0] == "queued" and "started" in kinds and kinds[-1] == "done"
    assert [e["count"] for e in seen if e["type"] == "sketch"] == [3, 4]
    previews = [e for e in seen if e["type"] == "progress" and e["preview"]]
    assert previews and all(len(e["preview"]) == e["count"] for e in previews)
    assert set(previews[0]["preview"][0]) == {"d", "width", "color", "opacity", "taper", "outline"}
    files = seen[-1]["files"]
    assert files["3"] == {"svg": "My-Cat-3-strokes.svg", "png": "My-Cat-3-strokes.png",
                          "animated": "My-Cat-3-strokes-animated.svg"}
    assert files["sheet"] == {"png": "My-Cat-contact-sheet.png"}
    svg = client.get(f"/api/jobs/{job['id']}/files/My-Cat-4-strokes.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert 'attachment; filename="My-Cat-4-strokes.svg"' == svg.headers["content-disposition"]
    root = etree.fromstring(svg.content)
    assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) == 4
    assert svg.text == next(e["svg"] for e in seen if e["type"] == "sketch" and e["count"] == 4)
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/api/jobs/{job['id']}/zip").content))
    assert sorted(archive.namelist()) == sorted([*files["3"].values(), *files["4"].values(), files["sheet"]["png"]])


def test_the_events_resume_after_the_last_event_id(client, photo_bytes):
    job_id = submit(client, photo_bytes, QUICK).json()["job"]["id"]
    seen = events(client, job_id)
    with client.stream("GET", f"/api/jobs/{job_id}/events", headers={"Last-Event-ID": str(len(seen) - 2)}) as stream:
        resumed = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
    assert resumed == seen[-1:]
    with client.stream("GET", f"/api/jobs/{job_id}/events", headers={"Last-Event-ID": str(len(seen) + 5)}) as stream:
        assert not [line for line in stream.iter_lines() if line.startswith("data: ")]  # past the end: it ends


def test_one_stream_follows_several_jobs_each_from_its_own_index(client, photo_bytes):
    ids = [submit(client, photo_bytes, QUICK).json()["job"]["id"] for _ in range(2)]
    with client.stream("GET", f"/api/events?jobs={ids[0]}.0,{ids[1]}.0,unknown.0") as stream:
        live = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
    for job_id in ids:
        mine = [event for event in live if event["job"] == job_id]
        assert [event["index"] for event in mine] == list(range(len(mine)))
        mine = [{k: [] if k == "preview" else v for k, v in event.items() if k not in ("job", "index")}
                for event in mine]
        assert mine == events(client, job_id)  # an ended job keeps its events, without their previews
    first = events(client, ids[0])
    with client.stream("GET", f"/api/events?jobs={ids[0]}.{len(first) - 1}") as stream:
        resumed = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
    assert resumed == [{"job": ids[0], "index": len(first) - 1, **first[-1]}]
    assert client.get("/api/events?jobs=unknown.0").status_code == 404


def test_many_photos_queue_and_download_as_one_zip_with_a_folder_each(client, photo_bytes):
    ids = [submit(client, photo_bytes, QUICK, name="cat.png").json()["job"]["id"] for _ in range(2)]
    second = events(client, ids[1])
    assert second[0] == {"type": "queued", "position": 1}  # one job at a time in process: the first runs
    events(client, ids[0])
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/api/zip?jobs={','.join(ids)}").content))
    folders = {name.split("/")[0] for name in archive.namelist()}
    assert folders == {"cat", "cat-2"} and "cat-2/cat-3-strokes.svg" in archive.namelist()


def test_use_this_keeps_the_strokes_so_far_and_cancel_ends_without_results(client, photo_bytes):
    kept = submit(client, photo_bytes, LONG).json()["job"]["id"]
    waiting = submit(client, photo_bytes, LONG).json()["job"]["id"]
    wait_for_event(client, kept, "progress")
    assert client.post(f"/api/jobs/{waiting}/cancel").json() == {"ok": True}  # a waiting job leaves the queue
    assert client.post(f"/api/jobs/{kept}/finish").json() == {"ok": True}
    done = events(client, kept)[-1]
    assert done["type"] == "done" and done["kept_early"] and "3" in done["files"]
    assert events(client, waiting)[-1]["type"] == "cancelled"
    running = submit(client, photo_bytes, LONG).json()["job"]["id"]
    wait_for_event(client, running, "progress")
    client.post(f"/api/jobs/{running}/cancel")
    assert events(client, running)[-1] == {"type": "cancelled", "message": "cancelled"}
    assert client.get(f"/api/jobs/{running}/zip").status_code == 409
    assert client.get(f"/api/jobs/{running}").json()["job"]["state"] == "cancelled"


# --- refusals: the server's limits and messages ---

def test_refusals_carry_the_servers_messages(make_client, photo_bytes):
    client = make_client(limits=Limits(max_photo_bytes=len(photo_bytes) - 1))
    too_big = submit(client, photo_bytes, QUICK)
    assert too_big.status_code == 413
    assert too_big.json() == {"error": f"photo is {len(photo_bytes)} bytes, more than the limit of "
                                       f"{len(photo_bytes) - 1}"}
    broken = submit(client, b"no picture", QUICK)
    assert broken.status_code == 400
    assert broken.json()["error"] == "not a recognised image format (expected PNG, JPEG, WebP, TIFF, BMP or GIF)"
    assert submit(client, b"", QUICK).json()["error"] == "photo is empty: send the encoded image bytes"
    client = make_client()
    wide = submit(client, photo_bytes, {**QUICK, "width": "200"})
    assert wide.status_code == 400 and "stroke width must be > 0 and at most 112.75" in wide.json()["error"]
    assert client.post("/api/jobs", data=QUICK).json()["error"] == "no photo in the request (a file field named photo)"
    refine = submit(client, photo_bytes, QUICK, start=("edited.svg", b"<svg", "image/svg+xml"))
    assert refine.status_code == 400 and refine.json()["error"].startswith("the SVG to refine:")


def test_refine_keeps_the_edited_strokes_locked(client, photo_bytes):
    edited = (b'<svg xmlns="http://www.w3.org/2000/svg" width="451" height="300" viewBox="0 0 451 300">'
              b'<path d="M 10 20 C 100 20 200 120 300 150" stroke="#ff0000" stroke-width="4" fill="none"/></svg>')
    job_id = submit(client, photo_bytes, {**QUICK, "lock_start": "on"},
                    start=("edited.svg", edited, "image/svg+xml")).json()["job"]["id"]
    seen = events(client, job_id)
    assert seen[-1]["type"] == "done"
    svg = etree.fromstring(client.get(f"/api/jobs/{job_id}/files/cat-3-strokes.svg").content)
    first = svg.findall(".//{http://www.w3.org/2000/svg}path")[0]
    assert first.get("d") == "M 10 20 C 100 20 200 120 300 150" and first.get("stroke") == "#ff0000"


def test_unknown_jobs_and_files_are_not_found_and_no_name_reaches_the_disk(client, photo_bytes):
    assert client.get("/api/jobs/nope").status_code == 404
    job_id = submit(client, photo_bytes, QUICK).json()["job"]["id"]
    events(client, job_id)
    for name in ("..%2F..%2Fetc%2Fpasswd", "cat-3-strokes.txt", "%2Fetc%2Fpasswd"):
        assert client.get(f"/api/jobs/{job_id}/files/{name}").status_code == 404
    assert safe_name("C:\\Users\\me\\holiday photo.jpeg") == "holiday-photo"
    assert safe_name("...") == "photo" and safe_name("") == "photo"


# --- safety ---

def test_a_foreign_origin_is_refused_on_every_change_and_on_the_event_stream(client, photo_bytes):
    foreign = {"origin": "http://evil.example"}
    answer = client.post("/api/jobs", files={"photo": ("cat.png", photo_bytes, "image/png")}, data=QUICK,
                         headers=foreign)
    assert answer.status_code == 403 and "another site" in answer.json()["error"]
    job_id = submit(client, photo_bytes, LONG).json()["job"]["id"]
    assert client.get(f"/api/jobs/{job_id}/events", headers=foreign).status_code == 403
    assert client.post(f"/api/jobs/{job_id}/cancel", headers=foreign).status_code == 403
    assert client.post(f"/api/jobs/{job_id}/cancel", headers={"sec-fetch-site": "cross-site"}).status_code == 403
    assert client.post(f"/api/jobs/{job_id}/cancel", headers={"origin": BASE}).status_code == 200


def test_a_loopback_page_answers_only_to_loopback_host_names(client):
    assert client.get("/").status_code == 200
    for host in ("localhost:8150", "[::1]:8150"):
        assert client.get("/api/info", headers={"host": host}).status_code == 200
    for host in ("evil.example:8150", "127.0.0.1:9999", "attacker.test"):  # DNS rebinding
        refused = client.get("/api/info", headers={"host": host})
        assert refused.status_code == 403 and "answers only as http://127.0.0.1:8150/" in refused.json()["error"]


def test_the_page_is_sent_with_a_strict_content_security_policy(client):
    page = client.get("/")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    for name in ("app.js", "app.css"):
        assert client.get(f"/static/{name}").status_code == 200


def test_off_loopback_the_token_is_asked_once_and_kept_in_a_strict_cookie(make_client, photo_bytes):
    client = make_client(token="s3cret", hosts=None, base="http://sketch.example:8150")
    assert client.get("/api/info").json()["token_needed"] is True
    refused = submit(client, photo_bytes, QUICK)
    assert refused.status_code == 401 and refused.json()["error"] == "this page needs the server's token"
    assert client.post("/api/token", json={"token": "wrong"}).status_code == 401
    given = client.post("/api/token", json={"token": "s3cret"})
    cookie = given.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "s3cret" not in cookie
    assert client.get("/api/info").json()["authorized"] is True
    assert submit(client, photo_bytes, QUICK).status_code == 201
    scripted = make_client(token="s3cret", hosts=None)
    assert submit(scripted, photo_bytes, QUICK).status_code == 401
    scripted.headers["authorization"] = "Bearer s3cret"
    assert submit(scripted, photo_bytes, QUICK).status_code == 201


def test_the_page_gives_the_same_files_as_clipsketch_sketch(client, photo_bytes, tmp_path, monkeypatch):
    """The same options and seed: the same SVG (and PNG) bytes from the page as from the command line."""
    from clipsketch.cli import main

    monkeypatch.setattr("clipsketch.cli.local_backend", lambda args: InProcess(tiny_engine()))
    photo = tmp_path / "cat.png"
    photo.write_bytes(photo_bytes)
    flags = ["--strokes", "3", "5", "--iterations", "6", "--seeds", "1", "--seed", "5", "--no-mask", "--line",
             "tapered", "--color", "#336699", "--width", "4"]
    assert main(["sketch", str(photo), *flags, "--out", str(tmp_path / "out")]) == 0
    form = {"strokes": "3 5", "iterations": "6", "seeds": "1", "seed": "5", "mask": "off", "line": "tapered",
            "color": "#336699", "width": "4"}
    job_id = submit(client, photo_bytes, form).json()["job"]["id"]
    assert events(client, job_id)[-1]["type"] == "done"
    for name in ("cat-3-strokes.svg", "cat-5-strokes.svg", "cat-5-strokes.png", "cat-contact-sheet.png"):
        assert client.get(f"/api/jobs/{job_id}/files/{name}").content == (tmp_path / "out" / name).read_bytes(), name


def test_the_page_loads_nothing_from_elsewhere():
    """One HTML, one script, one style sheet, all served here: no CDN, no font service, no library."""
    import re
    from importlib import resources

    static = resources.files("clipsketch.web") / "static"
    assert sorted(p.name for p in static.iterdir()) == ["app.css", "app.js", "index.html"]
    for name in ("app.css", "app.js", "index.html"):
        text = (static / name).read_text(encoding="utf-8")
        addresses = set(re.findall(r"(?:https?:)?//[\w.-]+\.\w+[^\s\"'`)]*", text))
        assert addresses <= {"http://www.w3.org/2000/svg"}, (name, addresses)
