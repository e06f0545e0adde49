"""Blind recognition, step 2: score the raters' answers against the key of ``benchmarks/rater_sets.py``.

Reads ``SETS/key.json`` and every ``SETS/rater-XX/answers.json`` (``{file: class}``, one of the words the rater was
offered, ``none`` for "none of these"), prints Markdown tables (per stroke count: recognised with "none" offered and
the share of "none" answers, against issue 32's bars; per photo × stroke count; what each photo was taken for) and
writes a JSON summary (default ``SETS/scores.json``). Sets with variants side by side (``rater_sets.py`` given
several sources) are scored per variant as well: each variant's shares and per-photo counts, judged by the same
raters.

    python benchmarks/rater_scores.py benchmarks/results/raters/2026-12-06 [--summary PATH] [--markdown PATH]

A sketch is recognised when the answer is its photo's class. An answer outside the offered words counts as not
recognised (and is listed); a file left unanswered is left out of the shares (and is listed). Raters who were
offered "none" cannot give the forced-choice figure (recognised when "none" is not offered): that needs raters
asked without it, so it is not reported here.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

BARS = {4: 0.50, 8: 0.75, 16: 0.85}
"""Issue 32's "Done when": recognised with "none" offered, at least this share, per stroke count."""

ALIASES = {"none of these": "none", "none of them": "none", "nothing": "none"}


def normalise(answer: object) -> str:
    text = " ".join(str(answer).strip().strip("`\"'.").lower().split())
    return ALIASES.get(text, text)


def judgements(sets: Path) -> tuple[dict, list[dict], list[str]]:
    """The key, every answered judgement (rater, file, photo, strokes, answer, valid, recognised) and the files of
    the key left unanswered (``rater-XX/file``)."""
    key = json.loads((sets / "key.json").read_text())
    offered = set(key["classes"])
    found, unanswered = [], []
    for rater, files in sorted(key["raters"].items()):
        path = sets / rater / "answers.json"
        answers = json.loads(path.read_text()) if path.exists() else {}
        strangers = sorted(set(answers) - set(files))
        if strangers:
            raise SystemExit(f"{path} answers files that are not in {rater}'s set: {', '.join(strangers)}")
        for name, seen in sorted(files.items()):
            if name not in answers:
                unanswered.append(f"{rater}/{name}")
                continue
            answer = normalise(answers[name])
            found.append({"rater": rater, "file": name, "photo": seen["photo"], "strokes": seen["strokes"],
                          **({"variant": seen["variant"]} if "variant" in seen else {}),
                          "answer": answer, "valid": answer in offered,
                          "recognised": answer == key["answer"][seen["photo"]]})
    return key, found, unanswered


def shares(key: dict, found: list[dict]) -> tuple[dict, dict]:
    """Of the judgements ``found``: per stroke count, how many were judged, recognised and answered "none" (and the
    shares, beside issue 32's bar); per photo × stroke count, how many were judged and recognised."""
    per_count = {}
    for count in key["counts"]:
        mine = [j for j in found if j["strokes"] == count]
        recognised = sum(j["recognised"] for j in mine)
        none = sum(j["answer"] == key["none"] for j in mine)
        per_count[str(count)] = {
            "judged": len(mine), "recognised": recognised, "none": none,
            "recognised_share": recognised / len(mine) if mine else None,
            "none_share": none / len(mine) if mine else None, "bar": BARS.get(count)}
    per_photo = {photo: {str(count): {"judged": sum(j["photo"] == photo and j["strokes"] == count for j in found),
                                      "recognised": sum(j["photo"] == photo and j["strokes"] == count
                                                        and j["recognised"] for j in found)}
                         for count in key["counts"]} for photo in key["photos"]}
    return per_count, per_photo


def summarise(key: dict, found: list[dict], unanswered: list[str]) -> dict:
    """Shares per stroke count, counts per photo × stroke count (all variants together, and each variant apart
    where there are several), answers per photo."""
    per_count, per_photo = shares(key, found)
    per_variant = {}
    for variant in key.get("variants", []):
        variant_count, variant_photo = shares(key, [j for j in found if j.get("variant") == variant])
        per_variant[variant] = {"per_count": variant_count, "per_photo_count": variant_photo}
    tables = [scored["per_photo_count"] for scored in per_variant.values()] or [per_photo]
    judged = [cell["judged"] for table in tables for counts in table.values() for cell in counts.values()]
    return {
        "raters": len(key["raters"]),
        "raters_answering": len({j["rater"] for j in found}),
        "judgements": len(found),
        "least_judged": min(judged, default=0),
        "classes": key["classes"],
        "answer": key["answer"],
        "per_count": per_count,
        "per_photo_count": per_photo,
        **({"per_variant": per_variant} if per_variant else {}),
        "answers_per_photo": {photo: dict(Counter(j["answer"] for j in found if j["photo"] == photo).most_common())
                              for photo in key["photos"]},
        "forced_choice": None,
        "forced_choice_note": "not measurable from answers given with \"none\" offered",
        "unanswered": unanswered,
        "invalid": [f"{j['rater']}/{j['file']}: {j['answer']!r}" for j in found if not j["valid"]],
        "judgements_list": found,
    }


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.0f} %"


def markdown(summary: dict) -> str:
    """The tables: per stroke count, per photo × stroke count (with variants side by side, all of them pooled,
    then each variant's), and what each photo was taken for."""
    counts = list(summary["per_count"])
    lines = [f"{summary['judgements']} judgements by {summary['raters_answering']} of {summary['raters']} raters; "
             f"every sketch judged at least {summary['least_judged']} times; "
             f"{len(summary['classes']) - 1} classes and \"none\".", "",
             "| strokes | judged | recognised, \"none\" offered | \"none\" answers | issue 32's bar |",
             "|---:|---:|---:|---:|---:|"]
    for count, row in summary["per_count"].items():
        bar = f"≥ {row['bar'] * 100:.0f} %" if row["bar"] is not None else "–"
        lines.append(f"| {count} | {row['judged']} | {percent(row['recognised_share'])} "
                     f"({row['recognised']}/{row['judged']}) | {percent(row['none_share'])} | {bar} |")
    lines += ["", "Recognised / judged, per photo (its class) and stroke count:", "",
              "| photo | " + " | ".join(counts) + " |", "|---|" + "---:|" * len(counts)]
    for photo, cells in summary["per_photo_count"].items():
        lines.append(f"| {photo} ({summary['answer'][photo]}) | "
                     + " | ".join(f"{cells[c]['recognised']}/{cells[c]['judged']}" for c in counts) + " |")
    if "per_variant" in summary:
        lines += ["", "Per variant (the same raters judged each; the table above pools them):", "",
                  "| strokes | variant | judged | recognised, \"none\" offered | \"none\" answers | issue 32's bar |",
                  "|---:|---|---:|---:|---:|---:|"]
        for count in counts:
            for variant, scored in summary["per_variant"].items():
                row = scored["per_count"][count]
                bar = f"≥ {row['bar'] * 100:.0f} %" if row["bar"] is not None else "–"
                lines.append(f"| {count} | {variant} | {row['judged']} | {percent(row['recognised_share'])} "
                             f"({row['recognised']}/{row['judged']}) | {percent(row['none_share'])} | {bar} |")
        variants = list(summary["per_variant"])
        lines += ["", "Recognised / judged, per photo, stroke count and variant:", "",
                  "| photo | " + " | ".join(f"{c} {v}" for c in counts for v in variants) + " |",
                  "|---|" + "---:|" * (len(counts) * len(variants))]
        for photo in summary["per_photo_count"]:
            cells = [summary["per_variant"][v]["per_photo_count"][photo][c] for c in counts for v in variants]
            lines.append(f"| {photo} ({summary['answer'][photo]}) | "
                         + " | ".join(f"{cell['recognised']}/{cell['judged']}" for cell in cells) + " |")
    pooled = "all stroke counts and variants" if "per_variant" in summary else "all stroke counts"
    lines += ["", f"What each photo's sketches were taken for ({pooled}):", "", "| photo | answers |",
              "|---|---|"]
    for photo, answers in summary["answers_per_photo"].items():
        lines.append(f"| {photo} | " + ", ".join(f"{answer} × {n}" for answer, n in answers.items()) + " |")
    lines += ["", "The forced-choice figure (no \"none\" offered) is not measurable from these answers."]
    if summary["unanswered"]:
        lines.append(f"Unanswered (left out of the shares): {', '.join(summary['unanswered'])}.")
    if summary["invalid"]:
        lines.append(f"Answers outside the offered words (counted as not recognised): {'; '.join(summary['invalid'])}.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sets", type=Path, help="the folder rater_sets.py wrote (key.json, rater-XX/answers.json)")
    parser.add_argument("--summary", type=Path, help="the JSON summary (default SETS/scores.json)")
    parser.add_argument("--markdown", type=Path, help="also write the tables here (e.g. SETS/scores.md)")
    args = parser.parse_args()

    key, found, unanswered = judgements(args.sets)
    if not found:
        raise SystemExit(f"no answers under {args.sets} (rater-XX/answers.json)")
    summary = summarise(key, found, unanswered)
    (args.summary or args.sets / "scores.json").write_text(json.dumps(summary, indent=1) + "\n")
    table = markdown(summary)
    if args.markdown:
        args.markdown.write_text(table + "\n")
    print(table)
    if unanswered:
        print(f"warning: {len(unanswered)} files unanswered", file=sys.stderr)


if __name__ == "__main__":
    main()
