"""Threshold calibration on a labelled folder of photos.

The folder holds the photos and a ``LABELS.csv`` with the columns ``file,person,faces,note``
(the format of ``../shared/faces``). Rows with an empty ``person`` or ``faces`` other than 1 are
not single-person portraits and take no part in pairs. Every pair of the remaining photos is
genuine (same ``person``) or impostor; a match is ``distance <= threshold``, so

* FAR(t) = impostor pairs with distance <= t / impostor pairs,
* FRR(t) = genuine pairs with distance > t / genuine pairs.

The threshold at a target FAR is the largest t with FAR(t) <= target (just below the next impostor
distance); the recommended threshold subtracts a safety margin from it, away from the impostors,
because a small set under-samples the impostor tail.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from identity.face import engine

DEFAULT_MARGIN = 0.12
_STEP = 0.001


@dataclass(frozen=True, slots=True)
class LabelledPhoto:
    file: str
    person: str


@dataclass(frozen=True, slots=True)
class Pair:
    a: str
    b: str
    genuine: bool
    distance: float


@dataclass(slots=True)
class Calibration:
    photos: list[str]
    excluded: dict[str, str]  # file -> reason
    pairs: list[Pair]
    target_far: float
    margin: float
    threshold_at_target: float = math.nan
    recommended: float = math.nan
    roc: list[tuple[float, float, float]] = field(default_factory=list)  # t, FAR, FRR

    @property
    def genuine(self) -> list[float]:
        return sorted(p.distance for p in self.pairs if p.genuine)

    @property
    def impostor(self) -> list[float]:
        return sorted(p.distance for p in self.pairs if not p.genuine)

    def rates(self, threshold: float) -> tuple[float, float]:
        return far_frr(self.genuine, self.impostor, threshold)

    def to_dict(self) -> dict[str, Any]:
        far_t, frr_t = self.rates(self.threshold_at_target)
        far_r, frr_r = self.rates(self.recommended)
        far_c, frr_c = self.rates(engine.MATCH_THRESHOLD)
        return {
            "photos": self.photos,
            "excluded": self.excluded,
            "genuine": _stats(self.genuine),
            "impostor": _stats(self.impostor),
            "pairs": [
                {"a": p.a, "b": p.b, "genuine": p.genuine, "distance": round(p.distance, 4)}
                for p in self.pairs
            ],
            "roc": [{"threshold": t, "far": far, "frr": frr} for t, far, frr in self.roc],
            "target_far": self.target_far,
            "threshold_at_target_far": {
                "threshold": self.threshold_at_target,
                "far": far_t,
                "frr": frr_t,
            },
            "margin": self.margin,
            "recommended": {"threshold": self.recommended, "far": far_r, "frr": frr_r},
            "configured": {"threshold": engine.MATCH_THRESHOLD, "far": far_c, "frr": frr_c},
        }


def _stats(values: Sequence[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0, "min": None, "mean": None, "max": None}
    return {
        "count": len(values),
        "min": round(min(values), 4),
        "mean": round(float(np.mean(values)), 4),
        "max": round(max(values), 4),
    }


def far_frr(genuine: Sequence[float], impostor: Sequence[float], t: float) -> tuple[float, float]:
    far = sum(d <= t for d in impostor) / len(impostor) if impostor else 0.0
    frr = sum(d > t for d in genuine) / len(genuine) if genuine else 0.0
    return far, frr


def read_labels(folder: Path) -> tuple[list[LabelledPhoto], dict[str, str]]:
    """Usable rows of ``LABELS.csv`` and the excluded ones with the reason."""
    labels = folder / "LABELS.csv"
    if not labels.is_file():
        raise FileNotFoundError(f"{labels} not found")
    usable: list[LabelledPhoto] = []
    excluded: dict[str, str] = {}
    with labels.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            name = (row.get("file") or "").strip()
            person = (row.get("person") or "").strip()
            faces = (row.get("faces") or "").strip()
            if not name:
                continue
            if not person or faces != "1":
                excluded[name] = "not a single-person portrait"
            elif not (folder / name).is_file():
                excluded[name] = "file missing"
            else:
                usable.append(LabelledPhoto(name, person))
    return usable, excluded


def threshold_at_far(impostor: Sequence[float], target_far: float) -> float:
    """Largest threshold (on a 0.001 grid) whose FAR on ``impostor`` is at most ``target_far``."""
    ordered = sorted(impostor)
    if not ordered:
        raise ValueError("no impostor pairs: cannot calibrate")
    allowed = math.floor(target_far * len(ordered) + 1e-9)
    if allowed >= len(ordered):
        return round(ordered[-1], 3)
    # accept at most `allowed` impostors: stay strictly below the next impostor distance
    return math.floor((ordered[allowed] - 1e-9) / _STEP) * _STEP


def calibrate(
    folder: Path,
    *,
    target_far: float = 0.0,
    margin: float = DEFAULT_MARGIN,
    analyse: Callable[[bytes], engine.FaceAnalysis] | None = None,
    roc_points: Sequence[float] | None = None,
) -> Calibration:
    analyse = analyse or engine.analyse_photo
    photos, excluded = read_labels(folder)
    encodings: dict[str, tuple[str, engine.Encoding]] = {}
    for photo in photos:
        try:
            face = analyse((folder / photo.file).read_bytes())
        except engine.FaceError as exc:
            excluded[photo.file] = exc.code
            continue
        encodings[photo.file] = (photo.person, face.encoding)
    pairs = [
        Pair(a, b, pa == pb, float(np.linalg.norm(ea - eb)))
        for (a, (pa, ea)), (b, (pb, eb)) in itertools.combinations(encodings.items(), 2)
    ]
    result = Calibration(list(encodings), excluded, pairs, target_far, margin)
    if not result.genuine or not result.impostor:
        raise ValueError("need at least one genuine and one impostor pair")
    result.threshold_at_target = round(threshold_at_far(result.impostor, target_far), 3)
    result.recommended = math.floor((result.threshold_at_target - margin) / 0.01 + 1e-9) * 0.01
    result.recommended = round(result.recommended, 2)
    grid = roc_points or [round(0.30 + 0.05 * i, 2) for i in range(12)]
    marks = {*grid, result.threshold_at_target, result.recommended, engine.MATCH_THRESHOLD}
    result.roc = [(t, *result.rates(t)) for t in sorted(marks)]
    return result


def format_report(cal: Calibration) -> str:
    lines = [f"photos: {len(cal.photos)} used"]
    for name, reason in sorted(cal.excluded.items()):
        lines.append(f"  excluded {name}: {reason}")
    lines.append("")
    lines.append(f"{'class':<9}{'pairs':>6}{'min':>8}{'mean':>8}{'max':>8}")
    for label, values in (("genuine", cal.genuine), ("impostor", cal.impostor)):
        s = _stats(values)
        lines.append(f"{label:<9}{s['count']:>6}{s['min']:>8.3f}{s['mean']:>8.3f}{s['max']:>8.3f}")
    lines.append("")
    lines.append(f"{'threshold':>9}{'FAR':>10}{'FRR':>10}")
    for t, far, frr in cal.roc:
        note = []
        if t == cal.threshold_at_target:
            note.append(f"largest with FAR <= {cal.target_far:g}")
        if t == cal.recommended:
            note.append(f"recommended (margin {cal.margin:g})")
        if t == engine.MATCH_THRESHOLD:
            note.append("configured MATCH_THRESHOLD")
        suffix = "   <- " + ", ".join(note) if note else ""
        lines.append(f"{t:>9.3f}{far:>10.3f}{frr:>10.3f}{suffix}")
    far_r, frr_r = cal.rates(cal.recommended)
    n_imp, n_gen = len(cal.impostor), len(cal.genuine)
    lines.append("")
    lines.append(
        f"threshold at target FAR {cal.target_far:g}: {cal.threshold_at_target:.3f}; "
        f"recommended {cal.recommended:.2f} -> FAR {far_r:.3f} ({round(far_r * n_imp)}/{n_imp}), "
        f"FRR {frr_r:.3f} ({round(frr_r * n_gen)}/{n_gen})"
    )
    return "\n".join(lines)
