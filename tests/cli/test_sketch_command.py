"""``clipsketch sketch`` end to end on a real photo, as a user runs it (offline backbone, few iterations)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from lxml import etree
from PIL import Image


@pytest.mark.slow
def test_sketch_writes_svgs_pngs_and_a_contact_sheet(tmp_path, chelsea):
    photo = tmp_path / "chelsea.png"
    Image.fromarray(chelsea).save(photo)
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "clipsketch.cli", "sketch", str(photo), "--strokes", "4", "8",
         "--iterations", "4", "--seeds", "2", "--width", "6", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
        env=dict(os.environ, HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="1"),  # no CLIP weights, whatever the network
    )
    assert result.returncode == 0, result.stderr
    assert "offline backbone" in result.stderr  # said plainly: no CLIP weights here
    for count in (4, 8):
        root = etree.parse(str(out / f"chelsea-{count}-strokes.svg")).getroot()
        assert root.get("viewBox") == "0 0 451 300"
        paths = root.findall(".//{http://www.w3.org/2000/svg}path")
        assert len(paths) == count
        assert {round(float(path.get("stroke-width")), 3) for path in paths} == {6.0}  # photo pixels, as asked
        assert Image.open(out / f"chelsea-{count}-strokes.png").size == (451, 300)
    sheet = Image.open(out / "chelsea-contact-sheet.png")
    assert sheet.width > 3 * sheet.height * 451 / 300 * 0.9  # photo + two sketches side by side


@pytest.mark.slow
def test_sketch_refuses_bad_input_clearly(tmp_path, chelsea):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff garbage")
    photo = tmp_path / "chelsea.png"
    Image.fromarray(chelsea).save(photo)
    for args, message in [
        ([str(broken)], "not a recognised image format"),
        ([str(tmp_path / "missing.jpg")], "No such file"),
        ([str(broken), "--strokes", "0"], "between 1 and"),
        ([str(broken), "--iterations", "-1"], "iterations"),
        # the server's limits hold here too
        ([str(broken), "--strokes", "300"], "stroke count must be between 1 and 256"),
        ([str(broken), "--seeds", "9"], "seeds must be between 1 and 8"),
        ([str(photo), "--width", "500"], "at most 112.75 photo pixels"),
    ]:
        result = subprocess.run([sys.executable, "-m", "clipsketch.cli", "sketch", *args, "--out", str(tmp_path)],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr


def path_numbers(svg_file):
    root = etree.parse(str(svg_file)).getroot()
    return [[float(v) for v in p.get("d").replace("M", " ").replace("C", " ").split()]
            for p in root.iter("{http://www.w3.org/2000/svg}path")]


@pytest.mark.slow
def test_refining_a_sketch_keeps_the_locked_strokes(tmp_path, chelsea):
    """`--start SKETCH.svg --lock-start`: the strokes of the first sketch come back unchanged (0.01 px, photo
    coordinates) and new ones are added up to the total."""
    photo = tmp_path / "chelsea.png"
    Image.fromarray(chelsea).save(photo)
    env = dict(os.environ, HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="1")

    def sketch(*args, out):
        return subprocess.run([sys.executable, "-m", "clipsketch.cli", "sketch", str(photo), "--iterations", "3",
                               "--seeds", "1", "--no-mask", "--out", str(tmp_path / out), *args],
                              capture_output=True, text=True, timeout=600, env=env)

    first = sketch("--strokes", "4", out="first")
    assert first.returncode == 0, first.stderr
    start = tmp_path / "first" / "chelsea-4-strokes.svg"
    too_few = sketch("--strokes", "3", "--start", str(start), out="bad")
    assert too_few.returncode == 2 and "ask for at least 4" in too_few.stderr
    refined = sketch("--strokes", "7", "--start", str(start), "--lock-start", out="refined")
    assert refined.returncode == 0, refined.stderr
    kept, again = path_numbers(start), path_numbers(tmp_path / "refined" / "chelsea-7-strokes.svg")
    assert len(again) == 7
    for before, after in zip(kept, again[:4]):
        assert max(abs(a - b) for a, b in zip(before, after)) <= 0.01


def interrupted_sketch(tmp_path, chelsea, interrupts: int, extra=(), strokes=("4", "8"), seeds="1"):
    """Run ``clipsketch sketch`` (``strokes``, far more steps than it gets) and press Ctrl-C ``interrupts`` times:
    the first right after the bar shows a step (so a whole step lies ahead), each next one as soon as the CLI has
    said it is finishing. Its exit status, stderr and output folder."""
    import signal
    import threading
    import time

    photo = tmp_path / "chelsea.png"
    Image.fromarray(chelsea).save(photo)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "clipsketch.cli", "sketch", str(photo), "--strokes", *strokes, "--iterations", "5000",
         "--seeds", seeds, "--no-mask", "--out", str(out), *extra],
        stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="1"))
    said = []
    reader = threading.Thread(target=lambda: said.extend(iter(lambda: process.stderr.read(1), "")), daemon=True)
    reader.start()

    def wait_for(condition) -> None:
        deadline = time.monotonic() + 300
        while not condition() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.005)

    bar = f"{strokes[0]} strokes:"
    wait_for(lambda: "".join(said).count(bar) >= 3)  # past the first steps
    shown = "".join(said).count(bar)
    wait_for(lambda: "".join(said).count(bar) > shown)  # a step just ended
    process.send_signal(signal.SIGINT)
    for _ in range(interrupts - 1):
        wait_for(lambda: "finishing early" in "".join(said))
        process.send_signal(signal.SIGINT)
    process.wait(timeout=300)
    reader.join(10)
    return process.returncode, "".join(said), out


@pytest.mark.slow
def test_ctrl_c_once_keeps_the_best_strokes_so_far(tmp_path, chelsea):
    status, said, out = interrupted_sketch(tmp_path, chelsea, interrupts=1)
    assert status == 0, said
    assert "finishing early: keeping the best strokes so far" in said and "1 of 2 stroke count(s) kept" in said
    assert not (out / "chelsea-8-strokes.svg").exists()
    facts = etree.parse(str(out / "chelsea-4-strokes.svg")).getroot().find(".//{urn:clipsketch:sketch:1}sketch")
    assert 1 <= int(facts.get("iterations-run")) < 5000 and facts.get("schedule") == "fast"
    assert (out / "chelsea-4-strokes.png").exists()


@pytest.mark.slow
def test_ctrl_c_once_on_a_server_keeps_the_best_strokes_so_far(tmp_path, chelsea, server):
    status, said, out = interrupted_sketch(tmp_path, chelsea, interrupts=1, extra=("--server", server.address))
    assert status == 0, said
    assert "1 of 2 stroke count(s) kept" in said and not (out / "chelsea-8-strokes.svg").exists()
    facts = etree.parse(str(out / "chelsea-4-strokes.svg")).getroot().find(".//{urn:clipsketch:sketch:1}sketch")
    assert 1 <= int(facts.get("iterations-run")) < 5000


@pytest.mark.slow
def test_ctrl_c_twice_aborts_without_writing(tmp_path, chelsea):
    """The second Ctrl-C comes while the step in progress runs (8 seeds × 160 strokes: about a second on 2 cores):
    the run stops there, before the first could finish."""
    status, said, out = interrupted_sketch(tmp_path, chelsea, interrupts=2, strokes=("160",), seeds="8")
    assert status == 130 and "interrupted" in said
    assert not list(out.glob("*.svg"))


def test_tapered_animated_sketch_on_a_server_writes_outlines_and_a_self_drawing_svg(tmp_path, chelsea, server):
    """``--line tapered --animate`` through a server: the SVG holds filled outlines that keep their centre lines,
    the PNG is drawn tapered (the taper comes back from the SVG), and the animated SVG is written beside it."""
    photo = tmp_path / "chelsea.png"
    Image.fromarray(chelsea).save(photo)
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "clipsketch.cli", "sketch", str(photo), "--strokes", "3", "--iterations", "2",
         "--seeds", "1", "--no-mask", "--line", "tapered", "--animate", "--width", "8", "--server", server.address,
         "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    svg = "{http://www.w3.org/2000/svg}"
    root = etree.parse(str(out / "chelsea-3-strokes.svg")).getroot()
    paths = root.findall(f".//{svg}path")
    assert len(paths) == 3 and all(p.get("stroke") == "none" and p.get("fill") == "#000000" for p in paths)
    animated = etree.parse(str(out / "chelsea-3-strokes-animated.svg")).getroot()
    assert len(animated.findall(f".//{svg}mask")) == 3 and "@keyframes" in animated.find(f"{svg}style").text
    assert f"wrote {out / 'chelsea-3-strokes-animated.svg'}" in result.stdout
    from clipsketch.core.svg import svg_to_strokes

    assert svg_to_strokes((out / "chelsea-3-strokes.svg").read_text()).strokes.taper == 0.25
