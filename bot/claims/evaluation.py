"""Quality metrics for the claim engine on a labelled file (pure: parsed data in, figures out).

The labelled form is one JSON object per line: ``{"id", "text", "label", "refs"}`` where ``refs``
names the seed articles (3-digit prefixes) that hold the claim.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.claims.types import Status
from bot.errors import InputError

__all__ = [
    "ClassScores",
    "EvalReport",
    "GoldClaim",
    "LabelledFileError",
    "Prediction",
    "evaluate",
    "format_report",
    "parse_gold",
    "seed_prefix",
]

LABELS: tuple[Status, ...] = ("repeated", "updated", "new")


class LabelledFileError(InputError, ValueError):
    """A line of the labelled file is malformed; the message names the line."""


@dataclass(frozen=True, slots=True)
class GoldClaim:
    id: str
    text: str
    label: Status
    refs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Prediction:
    """The engine's answer for one gold claim: status and the top match's seed prefix, if any."""

    id: str
    status: Status
    top_ref: str | None = None


@dataclass(frozen=True, slots=True)
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class EvalReport:
    per_class: Mapping[str, ClassScores]
    macro_f1: float
    accuracy: float
    known_vs_new_accuracy: float
    attribution_accuracy: float
    attribution_total: int
    confusion: Mapping[tuple[str, str], int]  # (gold, predicted) -> count
    total: int
    errors: tuple[tuple[GoldClaim, Prediction], ...] = field(default_factory=tuple)


def seed_prefix(url_or_origin: str | None) -> str | None:
    """``seed:000_ab12.txt`` or ``000_ab12.txt`` -> ``000``; anything else -> None."""
    if not url_or_origin:
        return None
    name = url_or_origin.removeprefix("seed:")
    head = name.split("_", 1)[0]
    return head if len(head) == 3 and head.isdigit() else None


def parse_gold(lines: Iterable[str]) -> list[GoldClaim]:
    """Parse the labelled JSONL lines (blank lines skipped)."""
    out: list[GoldClaim] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj: Any = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabelledFileError(f"line {n}: not JSON ({exc.msg})") from exc
        if not isinstance(obj, dict):
            raise LabelledFileError(f"line {n}: expected an object")
        label = obj.get("label")
        if label not in LABELS:
            raise LabelledFileError(f"line {n}: label must be one of {', '.join(LABELS)}")
        text = obj.get("text")
        if not isinstance(text, str) or not text.strip():
            raise LabelledFileError(f"line {n}: text must be a non-empty string")
        refs = obj.get("refs", [])
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            raise LabelledFileError(f"line {n}: refs must be a list of strings")
        out.append(GoldClaim(id=str(obj.get("id", n)), text=text, label=label, refs=tuple(refs)))
    return out


def _div(a: float, b: float) -> float:
    return a / b if b else 0.0


def evaluate(gold: Sequence[GoldClaim], predictions: Mapping[str, Prediction]) -> EvalReport:
    """Per-class P/R/F1, macro-F1, known-vs-new accuracy, attribution, confusion matrix.

    A gold claim without a prediction counts as predicted ``new`` with no match.
    Attribution is measured over the gold-known (repeated or updated) claims: correct when the
    top match comes from a seed named in ``refs``, whatever status was predicted.
    """
    confusion: dict[tuple[str, str], int] = {(g, p): 0 for g in LABELS for p in LABELS}
    errors: list[tuple[GoldClaim, Prediction]] = []
    known_ok = 0
    attr_ok = 0
    attr_total = 0
    for g in gold:
        pred = predictions.get(g.id, Prediction(id=g.id, status="new"))
        confusion[(g.label, pred.status)] += 1
        gold_known = g.label != "new"
        if gold_known == (pred.status != "new"):
            known_ok += 1
        attributed = True
        if gold_known:
            attr_total += 1
            attributed = pred.top_ref is not None and pred.top_ref in g.refs
            attr_ok += attributed
        if pred.status != g.label or not attributed:
            errors.append((g, pred))
    per_class: dict[str, ClassScores] = {}
    for label in LABELS:
        tp = confusion[(label, label)]
        predicted = sum(confusion[(g, label)] for g in LABELS)
        support = sum(confusion[(label, p)] for p in LABELS)
        precision = _div(tp, predicted)
        recall = _div(tp, support)
        f1 = _div(2 * precision * recall, precision + recall)
        per_class[label] = ClassScores(precision, recall, f1, support)
    present = [label for label in LABELS if per_class[label].support > 0]
    macro = _div(sum(per_class[label].f1 for label in present), len(present))
    total = len(gold)
    return EvalReport(
        per_class=per_class,
        macro_f1=macro,
        accuracy=_div(sum(confusion[(label, label)] for label in LABELS), total),
        known_vs_new_accuracy=_div(known_ok, total),
        attribution_accuracy=_div(attr_ok, attr_total),
        attribution_total=attr_total,
        confusion=confusion,
        total=total,
        errors=tuple(errors),
    )


def format_report(report: EvalReport, *, show_errors: bool = True) -> str:
    """A plain-text report: class table, headline figures, confusion matrix, misjudged claims."""
    lines = [f"claims: {report.total}", "", f"{'class':<10}{'P':>7}{'R':>7}{'F1':>7}{'n':>5}"]
    for label in LABELS:
        s = report.per_class[label]
        lines.append(f"{label:<10}{s.precision:>7.3f}{s.recall:>7.3f}{s.f1:>7.3f}{s.support:>5}")
    lines += [
        "",
        f"macro-F1              {report.macro_f1:.3f}",
        f"accuracy              {report.accuracy:.3f}",
        f"known-vs-new accuracy {report.known_vs_new_accuracy:.3f}",
        f"attribution accuracy  {report.attribution_accuracy:.3f} "
        f"(over {report.attribution_total} known claims)",
        "",
        "confusion (rows gold, columns predicted)",
        f"{'':<10}" + "".join(f"{p:>10}" for p in LABELS),
    ]
    for g in LABELS:
        lines.append(f"{g:<10}" + "".join(f"{report.confusion[(g, p)]:>10}" for p in LABELS))
    if show_errors and report.errors:
        lines += ["", "misjudged:"]
        for claim, pred in report.errors:
            refs = ",".join(claim.refs) or "-"
            lines.append(
                f"  {claim.id} gold={claim.label}[{refs}] "
                f"predicted={pred.status}[{pred.top_ref or '-'}] {claim.text}"
            )
    return "\n".join(lines)
