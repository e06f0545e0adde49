"""The blind recognition protocol (benchmarks/rater_sets.py, rater_scores.py) on a tiny fake gallery: the Latin
square, opaque names, the key kept apart, determinism, both sources (SVG folder, quality.py results) and scoring."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from PIL import Image

from clipsketch.core.frame import Frame
from clipsketch.core.strokes import Strokes, random_points
from clipsketch.core.svg import strokes_to_svg

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load(name):
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


rater_sets, rater_scores = load("rater_sets"), load("rater_scores")
PHOTOS, COUNTS = ["chelsea", "rocket", "horse"], [2, 4]


def strokes(count, seed):
    generator = torch.Generator().manual_seed(seed)
    return Strokes.from_points(random_points(1, count, 224, step=30.0, generator=generator), 3.0)


@pytest.fixture
def svgs(tmp_path):
    folder = tmp_path / "svgs"
    folder.mkdir()
    for p, photo in enumerate(PHOTOS):
        for count in COUNTS:
            frame = Frame.padded(300, 200, 224)
            svg = strokes_to_svg(strokes(count, 10 * p + count), frame=frame)
            (folder / f"{photo}-{count}-strokes.svg").write_text(svg)
    return folder


def test_latin_square_every_photo_once_per_rater_every_sketch_twice():
    square = rater_sets.latin_square(PHOTOS, COUNTS, 2 * len(COUNTS))
    for seen in square:
        assert sorted(photo for photo, _ in seen) == sorted(PHOTOS)
    shown = [cell for seen in square for cell in seen]
    assert all(shown.count((photo, count)) == 2 for photo in PHOTOS for count in COUNTS)
    assert square[0] != square[1]


def test_sets_from_svgs_are_blind_deterministic_and_scored(svgs, tmp_path):
    sketches = rater_sets.from_svgs(svgs)
    assert sorted((s.photo, s.count) for s in sketches) == sorted((p, c) for p in PHOTOS for c in COUNTS)
    key = rater_sets.make_sets(sketches, tmp_path / "a", None, seed=3, size=96)
    rater_sets.make_sets(rater_sets.from_svgs(svgs), tmp_path / "b", None, seed=3, size=96)
    assert (tmp_path / "a" / "key.json").read_text() == (tmp_path / "b" / "key.json").read_text()

    assert sorted(key["raters"]) == ["rater-01", "rater-02", "rater-03", "rater-04"]
    assert key["answer"] == {"chelsea": "cat", "horse": "horse", "rocket": "rocket"}
    assert key["classes"][-1] == "none" and len(key["classes"]) == 9  # the whole gallery's classes offered
    names = [name for files in key["raters"].values() for name in files]
    assert len(set(names)) == len(names)
    for rater, files in key["raters"].items():
        folder = tmp_path / "a" / rater
        assert sorted(p.name for p in folder.iterdir()) == sorted([*files, "instructions.md"])
        text = (folder / "instructions.md").read_text()
        for name in files:
            assert name in text and not any(photo in name for photo in PHOTOS)
            assert Image.open(folder / name).size == (96, 96)
        assert not any(photo in text for photo in ("chelsea", "astronaut", "coffee"))
        assert "`none`" in text and "`photographer`" in text
    assert rater_sets.times_shown(key) == {(p, c): 2 for p in PHOTOS for c in COUNTS}

    # rater-01 gets everything right, rater-02 says none, rater-03 one right and a stray word, rater-04 is silent
    sets = tmp_path / "a"
    for rater, files in key["raters"].items():
        if rater == "rater-04":
            continue
        answers = {}
        for k, (name, seen) in enumerate(sorted(files.items())):
            right = key["answer"][seen["photo"]]
            answers[name] = {"rater-01": right, "rater-02": "None of these",
                             "rater-03": right if k == 0 else "dog"}[rater]
        (sets / rater / "answers.json").write_text(json.dumps(answers))
    summary = rater_scores.summarise(*rater_scores.judgements(sets))
    assert summary["judgements"] == 9 and len(summary["unanswered"]) == 3 and len(summary["invalid"]) == 2
    assert sum(row["recognised"] for row in summary["per_count"].values()) == 4
    assert sum(row["none"] for row in summary["per_count"].values()) == 3
    assert summary["forced_choice"] is None

    run = subprocess.run([sys.executable, str(BENCHMARKS / "rater_scores.py"), str(sets)], capture_output=True,
                         text=True, check=True)
    assert "| strokes | judged |" in run.stdout and "| chelsea (cat) |" in run.stdout
    assert json.loads((sets / "scores.json").read_text())["judgements"] == 9


def test_sets_from_quality_results(tmp_path):
    cases = {}
    for p, photo in enumerate(PHOTOS[:2]):
        for count in COUNTS:
            drawn = strokes(count, p + count)
            for schedule in ("fast", "reference"):
                cases[f"{photo}/{count}/{schedule}"] = {
                    "photo": photo, "strokes": count, "schedule": schedule, "points": drawn.points[0].tolist(),
                    "width": 3.0, "widths": drawn.widths[0].tolist(), "taper": 0.0}
    results = tmp_path / "quality.json"
    results.write_text(json.dumps({"machine": {}, "cases": cases}))
    with pytest.raises(SystemExit, match="several schedules"):
        rater_sets.from_results(results)
    sketches = rater_sets.from_results(results, "fast")
    key = rater_sets.make_sets(sketches, tmp_path / "sets", 2, seed=0, size=64)
    assert rater_sets.times_shown(key) == {(p, c): 1 for p in PHOTOS[:2] for c in COUNTS}
    with pytest.raises(SystemExit, match="missing: rocket-4"):
        rater_sets.make_sets(sketches[:-1], tmp_path / "other", None, seed=0, size=64)


def test_a_sketch_drawn_on_a_window_is_shown_to_raters_where_it_lies_on_the_photo():
    """An SVG of a small subject's window (its canvas a part of the photo) comes back on the whole photo's square,
    as a results file holds it, not enlarged."""
    import torch

    from clipsketch.core.frame import Frame
    from clipsketch.core.options import DEFAULT_MARGIN
    from clipsketch.core.strokes import Strokes
    from clipsketch.core.svg import strokes_to_svg, svg_to_strokes

    window = Frame.around(640, 427, (300, 100, 340, 400), 224, 0.1)
    points = torch.tensor([[[[20.0, 20.0], [80.0, 60.0], [140.0, 160.0], [200.0, 200.0]]]])
    svg = strokes_to_svg(Strokes.from_points(points, 3.0), frame=window)
    shown = rater_sets.on_whole_photo(svg_to_strokes(svg))
    whole = Frame.padded(640, 427, 224, DEFAULT_MARGIN)
    expected = whole.to_canvas(window.to_target(points.double()))
    assert torch.allclose(shown.points.double(), expected, atol=0.05)
    assert float(shown.widths[0, 0]) == pytest.approx(3.0 * window.scale / whole.scale, rel=1e-3)


def test_variants_are_judged_side_by_side_by_the_same_raters_and_scored_apart(tmp_path):
    """Two results files as variants: each rater sees every photo once, both variants among them; every
    (photo, count, variant) is shown equally often; the scores split by variant."""
    sources = {}
    for variant in ("before", "after"):
        cases = {}
        for p, photo in enumerate(PHOTOS):
            for count in COUNTS:
                drawn = strokes(count, 100 * (variant == "after") + 10 * p + count)
                cases[f"{photo}/{count}/fast"] = {"photo": photo, "strokes": count, "schedule": "fast",
                                                  "points": drawn.points[0].tolist(), "width": 3.0}
        sources[variant] = tmp_path / f"{variant}.json"
        sources[variant].write_text(json.dumps({"machine": {}, "cases": cases}))
    named = rater_sets.named_sources([f"{name}={path}" for name, path in sources.items()])
    assert [name for name, _ in named] == ["before", "after"]
    assert rater_sets.named_sources([str(sources["before"])]) == [("", sources["before"])]
    assert rater_sets.named_sources(["runs/lr=0.1/a.json"]) == [("", Path("runs/lr=0.1/a.json"))]
    with pytest.raises(SystemExit, match="a name of its own"):
        rater_sets.named_sources([f"x={sources['before']}", f"x={sources['after']}"])
    sketches = [replace(sketch, variant=name) for name, path in named
                for sketch in rater_sets.from_results(path, "fast")]
    key = rater_sets.make_sets(sketches, tmp_path / "sets", None, seed=5, size=64)
    assert key["variants"] == ["before", "after"] and len(key["raters"]) == 2 * len(COUNTS) * 2
    for files in key["raters"].values():
        assert sorted(seen["photo"] for seen in files.values()) == sorted(PHOTOS)
        assert {seen["variant"] for seen in files.values()} == {"before", "after"}
    assert rater_sets.times_shown(key) == {(p, c, v): 2 for p in PHOTOS for c in COUNTS for v in ("before", "after")}
    with pytest.raises(SystemExit, match=r"missing: rocket-4 \(after\)"):
        rater_sets.make_sets([s for s in sketches if (s.photo, s.count, s.variant) != ("rocket", 4, "after")],
                             tmp_path / "other", None, seed=5, size=64)

    # every rater recognises "after" and answers none to "before"
    sets = tmp_path / "sets"
    for rater, files in key["raters"].items():
        answers = {name: key["answer"][seen["photo"]] if seen["variant"] == "after" else "none"
                   for name, seen in files.items()}
        (sets / rater / "answers.json").write_text(json.dumps(answers))
    summary = rater_scores.summarise(*rater_scores.judgements(sets))
    for count in map(str, COUNTS):
        after, before = (summary["per_variant"][v]["per_count"][count] for v in ("after", "before"))
        assert after["recognised_share"] == 1 and before["recognised_share"] == 0 and before["none_share"] == 1
        assert summary["per_count"][count]["recognised_share"] == 0.5
    assert summary["least_judged"] == 2
    table = rater_scores.markdown(summary)
    assert "| 2 | after | 6 | 100 % (6/6) | 0 % | – |" in table and "| chelsea (cat) | 0/2 | 2/2 |" in table

    # a source filtered down to nothing is an error, not a set without it
    horse_only = tmp_path / "horse.json"
    cases = json.loads(sources["after"].read_text())["cases"]
    horses = {name: case for name, case in cases.items() if case["photo"] == "horse"}
    horse_only.write_text(json.dumps({"machine": {}, "cases": horses}))
    run = subprocess.run([sys.executable, str(BENCHMARKS / "rater_sets.py"), "--results", f"before={sources['before']}",
                          "--results", f"after={horse_only}", "--schedule", "fast", "--photos", "chelsea", "rocket",
                          "--out", str(tmp_path / "none")], capture_output=True, text=True)
    assert run.returncode != 0 and "no sketches to show from 'after'" in run.stderr
