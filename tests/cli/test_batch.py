"""`clipsketch batch` over real servers on loopback: outputs, the manifest and resuming, faults (a server killed or
drained mid-batch, a corrupt photo), watching a folder, and which photos an input names."""

from __future__ import annotations

import io
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image

from clipsketch.batch.manifest import MANIFEST_NAME
from clipsketch.outputs import TEMPORARY_PREFIX
from clipsketch.batch.photos import collect
from clipsketch.cli import main

from tests.conftest import TINY_SERVE_OPTIONS as TINY

QUICK = ["--strokes", "2", "--iterations", "3", "--seeds", "1", "--no-mask"]
SVG = "{http://www.w3.org/2000/svg}"


def make_photos(root: Path, images: list, count: int) -> list[str]:
    """``count`` distinct photos (crops of ``images``) spread over ``root``, ``root/sub`` and ``root/sub/deeper``,
    PNG and JPEG; returns their paths relative to ``root``."""
    made = []
    for k in range(count):
        image = images[k % len(images)]
        folder = ["", "sub", "sub/deeper"][k % 3]
        crop = image[4 * k:4 * k + 180, 5 * k:5 * k + 240]
        name = f"{folder}/photo{k}.{'png' if k % 2 else 'jpg'}".lstrip("/")
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(crop).save(root / name)
        made.append(name)
    return made


@pytest.fixture(scope="module")
def images():
    import skimage.data

    return [skimage.data.chelsea(), skimage.data.astronaut(), skimage.data.coffee(), skimage.data.rocket()]


def records(out: Path) -> dict[str, dict]:
    """The manifest's last record per photo."""
    found = {}
    for line in (out / MANIFEST_NAME).read_text().splitlines():
        record = json.loads(line)
        found[record["photo"]] = record
    return found


def batch_process(*arguments: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "clipsketch.cli", "batch", *arguments],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def done_count(out: Path) -> int:
    path = out / MANIFEST_NAME
    return sum('"status": "done"' in line for line in path.read_text().splitlines()) if path.exists() else 0


def assert_one_complete_set(out: Path, photos: list[str], counts: tuple[int, ...], png: bool) -> None:
    """Every photo has exactly its outputs, each whole; nothing else (no partial files) is in ``out``."""
    expected = {MANIFEST_NAME, ".clipsketch-batch.lock"}
    for photo in photos:
        stem = photo.rsplit(".", 1)[0]
        for count in counts:
            svg = out / f"{stem}-{count}-strokes.svg"
            root = etree.parse(str(svg)).getroot()  # parses: written whole
            assert len(root.findall(f".//{SVG}path")) == count
            expected.add(f"{stem}-{count}-strokes.svg")
            if png:
                assert Image.open(out / f"{stem}-{count}-strokes.png").size == (240, 180)
                expected.add(f"{stem}-{count}-strokes.png")
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert written == expected, written ^ expected
    assert not any(TEMPORARY_PREFIX in name for name in written)


@pytest.mark.slow
def test_a_server_killed_mid_batch_loses_no_photo_and_a_corrupt_one_is_reported(serve_process, tmp_path, images):
    photos = make_photos(tmp_path / "photos", images, 12)
    (tmp_path / "photos" / "sub" / "broken.jpg").write_bytes(b"\xff\xd8\xff this is not a JPEG")
    servers = [serve_process(*TINY) for _ in range(3)]
    out = tmp_path / "out"
    batch = batch_process(str(tmp_path / "photos"), "--out", str(out), "--png", "--strokes", "2", "--iterations",
                          "40", "--seeds", "1", "--no-mask", *[a for _, address in servers for a in ("--server",
                                                                                                     address)])
    wait_for(lambda: done_count(out) >= 1)
    first = next(iter(records(out).values()))["server"]
    victim, victim_address = next((p, a) for p, a in servers if a != first)  # busy with its first job
    victim.kill()
    stdout, stderr = batch.communicate(timeout=300)
    assert batch.returncode == 1, stderr  # some photos failed
    found = records(out)
    assert sorted(p for p, r in found.items() if r["status"] == "done") == sorted(photos)
    broken = found["sub/broken.jpg"]
    assert broken["status"] == "failed" and not broken["retryable"]
    assert "not a recognised image format" in broken["error"] and "INVALID_ARGUMENT" in broken["error"]
    assert "retrying" in stderr and f"{victim_address}: " in stderr  # its job went elsewhere
    assert "sketched 12 photo(s), skipped 0 done before, 1 failed" in stdout
    assert "failed: sub/broken.jpg: not a recognised image format" in stdout
    for photo in photos:
        record = found[photo]
        assert record["sha256"] and record["loss"]["2"] > 0 and record["seconds"] > 0
        assert record["options"]["strokes"] == [2] and record["server"] in {a for _, a in servers}
    assert_one_complete_set(out, photos, (2,), png=True)


def test_a_rerun_resumes(make_server, tmp_path, images, capsys):
    server = make_server()
    photos = make_photos(tmp_path / "photos", images, 4)
    out = tmp_path / "out"
    arguments = [str(tmp_path / "photos"), "--out", str(out), "--server", server.address, *QUICK]
    assert main(["batch", *arguments]) == 0
    assert server.jobs.submitted == 4
    assert_one_complete_set(out, photos, (2,), png=False)

    assert main(["batch", *arguments]) == 0  # the same batch again: no work
    assert server.jobs.submitted == 4
    assert "nothing to do: 4 photo(s) done before" in capsys.readouterr().out

    edited = tmp_path / "photos" / photos[1]
    Image.fromarray(images[3][:150, :200]).save(edited)  # new content: that photo alone again
    assert main(["batch", *arguments]) == 0
    assert server.jobs.submitted == 5
    assert "sketched 1 photo(s), skipped 3 done before" in capsys.readouterr().out

    lost = out / Path(photos[2]).with_name(f"{Path(photos[2]).stem}-2-strokes.svg")
    lost.unlink()
    assert main(["batch", *arguments]) == 0  # an output gone: that photo again (the server's cache answers)
    assert "sketched 1 photo(s), skipped 3 done before" in capsys.readouterr().out and lost.exists()

    assert main(["batch", *arguments, "--seed", "7"]) == 0  # another option: all again
    assert server.jobs.submitted == 9
    assert {r["options"]["seed"] for r in records(out).values()} == {7}
    assert len((out / MANIFEST_NAME).read_text().splitlines()) == 8  # appended as photos end
    assert main(["batch", *arguments, "--seed", "7"]) == 0
    assert len((out / MANIFEST_NAME).read_text().splitlines()) == 4  # compacted on opening: one per photo


@pytest.mark.slow
def test_sigterm_to_a_server_mid_batch_loses_no_photo(serve_process, tmp_path, images):
    photos = make_photos(tmp_path / "photos", images, 6)
    draining, draining_address = serve_process(*TINY, "--drain-seconds", "0.2")
    _, other_address = serve_process(*TINY)
    out = tmp_path / "out"
    batch = batch_process(str(tmp_path / "photos"), "--out", str(out), "--strokes", "2", "--iterations", "150",
                          "--seeds", "1", "--no-mask", "--server", draining_address, "--server", other_address)
    wait_for(lambda: done_count(out) >= 1)
    draining.send_signal(signal.SIGTERM)  # its job has 0.2 s to finish, then comes back UNAVAILABLE
    assert draining.wait(60) == 0
    stdout, stderr = batch.communicate(timeout=300)
    assert batch.returncode == 0, stderr
    assert sorted(records(out)) == sorted(photos)
    assert all(r["status"] == "done" for r in records(out).values())
    assert_one_complete_set(out, photos, (2,), png=False)


@pytest.mark.slow
def test_ctrl_c_once_finishes_the_photos_in_flight_twice_cancels_them(serve_process, tmp_path, images):
    photos = make_photos(tmp_path / "photos", images, 5)
    _, address = serve_process(*TINY, "--max-batch", "1")  # one photo in flight at a time: the counts below
    out = tmp_path / "out"
    arguments = [str(tmp_path / "photos"), "--out", str(out), "--strokes", "2", "--iterations", "120", "--seeds",
                 "1", "--no-mask", "--server", address]
    once = batch_process(*arguments)
    wait_for(lambda: done_count(out) == 1)
    once.send_signal(signal.SIGINT)  # the photo in flight finishes and is recorded; no other starts
    stdout, stderr = once.communicate(timeout=120)
    assert once.returncode == 130, stderr
    assert "finishing the 1 photo(s) in flight" in stderr and "run the same command again" in stderr
    assert done_count(out) == 2 and "sketched 2 photo(s)" in stdout

    twice = batch_process(*arguments)
    wait_for(lambda: done_count(out) == 3)
    twice.send_signal(signal.SIGINT)
    time.sleep(0.2)
    twice.send_signal(signal.SIGINT)  # the photo in flight is cancelled: nothing of it written
    stdout, stderr = twice.communicate(timeout=120)
    assert twice.returncode == 130, stderr
    assert "cancelling the photos in flight" in stderr and done_count(out) == 3
    assert_one_complete_set(out, sorted(records(out)), (2,), png=False)

    rest = batch_process(*arguments)  # the server kept serving; the rerun does the other two
    stdout, stderr = rest.communicate(timeout=300)
    assert rest.returncode == 0, stderr
    assert "sketched 2 photo(s), skipped 3 done before" in stdout
    assert_one_complete_set(out, photos, (2,), png=False)


@pytest.mark.slow
def test_watch_sketches_a_photo_copied_in_after_start(make_server, tmp_path, images):
    server = make_server()
    inbox = tmp_path / "inbox"
    make_photos(inbox, images, 1)
    out = tmp_path / "out"
    batch = batch_process(str(inbox), "--out", str(out), "--watch", "--watch-every", "0.3", "--server",
                          server.address, *QUICK)
    wait_for(lambda: done_count(out) == 1)
    arriving = tmp_path / "arriving.png"
    Image.fromarray(images[2][:200, :260]).save(arriving)
    shutil.copy(arriving, inbox / "late.png")
    wait_for(lambda: done_count(out) == 2)
    Image.fromarray(images[1][:200, :260]).save(inbox / "late.jpg")  # would overwrite late.png's outputs: left out
    Image.fromarray(images[3][:200, :260]).save(tmp_path / "later.png")
    shutil.copy(tmp_path / "later.png", inbox / "later.png")  # the watch goes on
    wait_for(lambda: done_count(out) == 3)
    batch.send_signal(signal.SIGINT)
    stdout, stderr = batch.communicate(timeout=60)
    assert batch.returncode == 0, stderr
    late = records(out)["late.png"]
    assert late["status"] == "done" and (out / late["outputs"][0]).exists()
    assert "late.jpg" not in records(out) and records(out)["later.png"]["status"] == "done"
    assert stderr.count("would write the same outputs") == 1  # said once, not at every look
    assert "sketched 3 photo(s)" in stdout


def test_a_dns_name_is_every_address_it_resolves_to(make_server, tmp_path, images, capsys):
    """``dns:///localhost:PORT``: one server per address of the name (127.0.0.1, and ::1 where localhost has
    it); the server listens on 127.0.0.1 only, so an IPv6 address is down and the photos go to the other."""
    from clipsketch.batch.fleet import resolve

    server = make_server()
    targets = resolve([f"dns:///localhost:{server.port}"])
    assert f"127.0.0.1:{server.port}" in {t.address for t in targets}
    assert all(t.name == "localhost" and "(localhost)" in t.label for t in targets)
    assert resolve(["dns:///no-such-host.invalid:50051"]) == []
    photos = make_photos(tmp_path / "photos", images, 2)
    assert main(["batch", str(tmp_path / "photos"), "--out", str(tmp_path / "out"), "--server",
                 f"dns:///localhost:{server.port}", "--server", "127.0.0.1:1", *QUICK]) == 0
    assert sorted(records(tmp_path / "out")) == sorted(photos)
    assert "127.0.0.1:1: not ready:" in capsys.readouterr().err  # a server that does not answer is said at once
    assert main(["batch", str(tmp_path / "photos"), "--out", str(tmp_path / "out2"), "--server",
                 "dns:///no-such-host.invalid:50051", *QUICK]) == 2
    assert "the names do not resolve" in capsys.readouterr().err


def test_a_wrong_token_stops_the_batch_with_a_clear_message(make_server, tmp_path, images, capsys):
    server = make_server(listen="0.0.0.0:0", token="s3cret")
    make_photos(tmp_path / "photos", images, 2)
    code = main(["batch", str(tmp_path / "photos"), "--out", str(tmp_path / "out"), "--server",
                 f"127.0.0.1:{server.port}", "--token", "wrong", *QUICK])
    assert code == 2
    assert "missing or wrong token" in capsys.readouterr().err
    assert server.jobs.submitted == 0


def test_inputs_files_folders_globs_and_stdin(tmp_path, images):
    root = tmp_path / "photos"
    made = make_photos(root, images, 6)
    (root / "notes.txt").write_text("not a photo")
    (root / ".hidden.png").write_bytes(b"")
    out = root / "out"  # an output folder inside the input is left out
    out.mkdir()
    Image.fromarray(images[0][:50, :50]).save(out / "preview.png")
    by_folder = collect([str(root)], exclude=out)
    assert sorted(str(p.relative) for p in by_folder) == sorted(made)
    by_glob = collect([f"{root}/**/*.png"], exclude=out)
    assert sorted(str(p.relative) for p in by_glob) == sorted(m for m in made if m.endswith(".png"))
    single = collect([str(root / made[4])])
    assert [str(p.relative) for p in single] == [Path(made[4]).name]
    from_stdin = collect(["-"], stdin=io.StringIO(f"{root / made[0]}\n\n{root / made[1]}\n"))
    assert [str(p.relative) for p in from_stdin] == [Path(made[0]).name, Path(made[1]).name]
    assert len(collect([str(root), str(root / made[0])], exclude=out)) == 6  # the same photo once
    with pytest.raises(ValueError, match="no such photo or folder"):
        collect([str(root / "missing.jpg")])
    with pytest.raises(ValueError, match="no photos match"):
        collect([f"{root}/*.gif"])
    Image.fromarray(images[0][:50, :50]).save(root / "photo0.png")  # photo0.jpg is there: same output names
    with pytest.raises(ValueError, match="would write the same outputs"):
        collect([str(root)], exclude=out)


def test_in_process_batch(tmp_path, images):
    from clipsketch.batch.manifest import Manifest
    from clipsketch.batch.runner import Batch
    from clipsketch.core.options import SketchOptions
    from clipsketch.session import InProcess

    from tests.conftest import tiny_engine

    photos = make_photos(tmp_path / "photos", images, 2)
    (tmp_path / "photos" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
    out = tmp_path / "out"
    options = SketchOptions(strokes=(2, 3), iterations=3, seeds=1, mask=False)
    lines = []
    with Manifest(out) as manifest:
        batch = Batch(out, manifest, options, {"strokes": [2, 3]}, png=True, say=lines.append,
                      local=InProcess(tiny_engine()))
        assert batch.plan(collect([str(tmp_path / "photos")], exclude=out)) == 3
        summary = batch.run()
    assert sorted(summary.sketched) == sorted(photos)
    assert [photo for photo, _ in summary.failed] == ["broken.png"]
    assert any(line.startswith("failed: broken.png: ") for line in lines)
    assert records(out)["broken.png"]["server"] == "in-process"
    assert_one_complete_set(out, photos, (2, 3), png=True)


def test_in_process_from_the_command_line(tmp_path, images, capsys):
    photos = make_photos(tmp_path / "photos", images, 1)
    (tmp_path / "photos" / "broken.jpg").write_bytes(b"not a photo")
    out = tmp_path / "out"
    arguments = ["batch", str(tmp_path / "photos" / photos[0]), str(tmp_path / "photos" / "broken.jpg"), "--out",
                 str(out), "--backbone", "offline", *QUICK]
    assert main(arguments) == 1
    assert "sketched 1 photo(s), skipped 0 done before, 1 failed" in capsys.readouterr().out
    assert records(out)[photos[0]]["server"] == "in-process"
    assert main(arguments) == 1  # the refused photo stays failed until it changes: still listed
    report = capsys.readouterr().out
    assert "nothing to do: 1 photo(s) done before" in report and "failed: broken.jpg" in report


def test_bad_usage_exits_2_before_any_work(tmp_path, capsys, images):
    assert main(["batch", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    assert "no such photo or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["batch", str(tmp_path / "empty"), "--out", str(tmp_path / "out")]) == 2
    assert "no photos in" in capsys.readouterr().err
    make_photos(tmp_path / "photos", images, 1)
    assert main(["batch", str(tmp_path / "photos"), "--out", str(tmp_path / "out"), "--strokes", "0"]) == 2
    assert "stroke" in capsys.readouterr().err
    assert main(["batch", str(tmp_path / "photos"), "--out", str(tmp_path / "out"), "--server", "nohostport"]) == 2
    assert "is not host:port" in capsys.readouterr().err
