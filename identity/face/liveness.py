"""Active liveness: two random actions, checked in order from 68-point landmarks.

The identity service issues the challenge (:func:`new_challenge`) with a single-use nonce and a TTL
of at most :data:`CHALLENGE_TTL_S`; the client films the user doing the actions and uploads the clip
or frames; the service burns the nonce, decodes the frames (:mod:`identity.face.video`) and calls
:func:`check_liveness` in the face pool. This module is the pure checker: it never sees a nonce.

Measures per frame (dlib's 68-point iBUG layout):

* **EAR**, eye aspect ratio (Soukupová & Čech 2016), averaged over both eyes. A blink is a dip to
  at most :data:`BLINK_RATIO` of the open level measured just before and just after it, on a
  near-frontal face. Relative, not absolute: dlib's predictor under-reports eye closure and open-eye
  EAR varies by person (Obama smiling in obama_1.jpg: 0.20; typical: 0.25-0.35).
* **MAR**, inner-mouth aspect ratio (mean of the three inner-lip gaps / inner mouth width).
* **Yaw**: position of the nose tip between the two jaw-line ends, -1..1, 0 frontal
  (:func:`identity.face.engine.yaw_ratio`). Tilting a flat photo barely moves it (obama_1 tilted
  by up to ±55° about its vertical axis: |yaw| <= 0.18); a real head turn of ~20-30° gives 0.3-0.6.

Sign convention: actions are named from the **user's** point of view ("turn left" = turn your head
to your own left). In an unmirrored camera frame (what the camera sensor records) the user's left
is the image's right, so turning left moves the nose toward the image's right edge. Mini-program
previews are usually mirrored; pass ``mirrored=True`` when the uploaded frames are mirrored too.
"""

from __future__ import annotations

import itertools
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from random import Random
from statistics import median
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from identity.face import engine
from identity.face.engine import Box, FaceAnalysis, RGBImage, Verdict

CHALLENGE_TTL_S = 60
MIN_FRAMES = 8
MAX_FRAMES = 60
#: Frames larger than this are refused; accepted frames are downscaled to PROCESS_MAX_SIDE.
MAX_FRAME_SIDE = 1920
PROCESS_MAX_SIDE = 640
#: Face width aimed at in the detection copy of each frame after the first face is found.
DETECT_FACE_PX = 110
#: At least this share of the frames must show exactly one face.
MIN_FACE_FRAME_SHARE = 0.7
#: Frames with two or more faces tolerated (spurious detections) before refusing the sequence.
MAX_MULTI_FACE_FRAMES = 1

#: Frame signatures: grey 96x96 thumbnails, mean absolute difference in grey levels. Consecutive
#: frames of a real 10 fps clip differ by 6-17 (clip_short_hamilton.mp4); re-encoded copies of
#: one picture by well under 1.
_SIGNATURE_SIDE = 96
DUPLICATE_EPS = 0.5
STATIC_EPS = 1.0
MAX_DUPLICATE_SHARE = 0.5

BLINK_RATIO = 0.75
BLINK_WINDOW = 4
BLINK_MAX_YAW = 0.25
MOUTH_OPEN_MAR = 0.35
MOUTH_RISE = 0.2
YAW_TURN = 0.30
YAW_NEUTRAL = 0.15
#: Best frame: near-frontal, eyes open.
BEST_MAX_YAW = 0.25
#: Identity within a sequence: frames linked in time must be at most IDENTITY_LINK apart. One person
#: in clip_short_hamilton.mp4 (87-104 px faces, yaw -0.8..0.4): neighbours at 10 fps <= 0.50, any
#: two frames up to 0.68; other people in the clip are 0.66-0.83 away, impostor photo pairs in
#: ../shared/faces >= 0.69.
IDENTITY_LINK = 0.55
IDENTITY_SAMPLES = 6
IDENTITY_MIN_SHARPNESS = engine.BLUR_MIN_SHARPNESS / 2
MAX_IDENTITY_ENCODINGS = 24
#: Largest move of the face centre between consecutive frames, in face widths per frame step
#: (clip at 10 fps: <= 0.54), and largest change of the face size.
MAX_JUMP = 1.0
MAX_SIZE_RATIO = 1.6


class Action(StrEnum):
    BLINK = "blink"
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    OPEN_MOUTH = "open_mouth"

    @property
    def prompt_zh(self) -> str:
        return _PROMPTS[self][0]

    @property
    def prompt_en(self) -> str:
        return _PROMPTS[self][1]

    @property
    def prompt(self) -> str:
        return f"{self.prompt_zh} / {self.prompt_en}"


_PROMPTS: dict[Action, tuple[str, str]] = {
    Action.BLINK: ("请眨眼", "Blink"),
    Action.TURN_LEFT: ("请向左转头", "Turn your head to your left"),
    Action.TURN_RIGHT: ("请向右转头", "Turn your head to your right"),
    Action.OPEN_MOUTH: ("请张嘴", "Open your mouth"),
}


def new_challenge(rng: Random | None = None) -> tuple[Action, Action]:
    """Two distinct actions in a random order (a CSPRNG unless ``rng`` is given, for tests)."""
    chooser = rng if rng is not None else secrets.SystemRandom()
    first, second = chooser.sample(list(Action), 2)
    return first, second


# --- results ----------------------------------------------------------------------------------

REASONS: dict[str, str] = {
    "ok": "活体检测通过",
    "too_few_frames": "视频过短，请按提示完成动作",
    "too_many_frames": "视频过长",
    "invalid_frame": "视频帧无法识别",
    "frame_too_large": "视频分辨率过高",
    "static_sequence": "画面静止，疑似照片，请本人实时拍摄",
    "repeated_frames": "画面存在大量重复帧，请本人实时拍摄",
    "face_missing": "多数画面中未检测到人脸，请正对镜头",
    "multiple_faces": "画面中出现多张人脸，请确保只有本人",
    "action_not_detected": "未检测到要求的动作，请按提示重试",
    "wrong_order": "动作顺序与提示不符，请按提示顺序完成",
    "no_usable_frame": "没有清晰的正脸画面，请在光线充足处正对镜头",
    "discontinuous": "画面不连续，疑似拼接",
    "identity_changed": "画面中的人脸不一致",
    "face_mismatch": "人脸与证件照不符",
}


@dataclass(frozen=True, slots=True)
class ActionEvidence:
    action: Action
    detected: bool
    #: Frame where the action was seen (the dip, the widest mouth onset, the turned head).
    frame_index: int | None
    #: "ear_ratio" (dip / open level), "mar" or "yaw" (user-relative, + = user's left).
    measure: str
    #: The value at ``frame_index``; when not detected, the most extreme value seen.
    value: float | None
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "detected": self.detected,
            "frame_index": self.frame_index,
            "measure": self.measure,
            "value": None if self.value is None else round(self.value, 3),
            "threshold": self.threshold,
        }


@dataclass(frozen=True, slots=True)
class LivenessResult:
    passed: bool
    reason_code: str
    best_frame_index: int | None = None
    evidence: tuple[ActionEvidence, ...] = ()
    frames_total: int = 0
    frames_with_face: int = 0
    #: Largest distance between the best frame and the other sampled frames.
    identity_distance: float | None = None
    #: Best frame against the reference (ID portrait), when one was given.
    match: Verdict | None = None
    detail: str = ""
    #: Encoding etc. of the best frame, for matching elsewhere; never serialised. Its box and
    #: landmarks are in the frame as processed (long side at most PROCESS_MAX_SIDE).
    best_face: FaceAnalysis | None = field(default=None, repr=False, compare=False)

    @property
    def message_zh(self) -> str:
        return REASONS.get(self.reason_code, "活体检测未通过")

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "reason_code": self.reason_code,
            "message_zh": self.message_zh,
            "detail": self.detail,
            "best_frame_index": self.best_frame_index,
            "evidence": [e.to_dict() for e in self.evidence],
            "frames_total": self.frames_total,
            "frames_with_face": self.frames_with_face,
            "identity_distance": (
                None if self.identity_distance is None else round(self.identity_distance, 4)
            ),
            "match": None if self.match is None else self.match.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class FrameMeasure:
    index: int
    box: Box
    landmarks: npt.NDArray[np.float64] = field(repr=False)
    ear: float
    mar: float
    #: User-relative yaw: positive = turned to the user's own left.
    yaw: float
    sharpness: float


# --- landmark measures ------------------------------------------------------------------------


def _dist(p: npt.NDArray[np.float64], a: int, b: int) -> float:
    return float(np.hypot(*(p[a] - p[b])))


def eye_aspect_ratio(p: npt.NDArray[np.float64]) -> float:
    def one(o: int) -> float:
        width = _dist(p, o, o + 3)
        if width <= 1e-6:
            return 0.0
        return (_dist(p, o + 1, o + 5) + _dist(p, o + 2, o + 4)) / (2 * width)

    return (one(36) + one(42)) / 2


def mouth_aspect_ratio(p: npt.NDArray[np.float64]) -> float:
    width = _dist(p, 60, 64)
    if width <= 1e-6:
        return 0.0
    return (_dist(p, 61, 67) + _dist(p, 62, 66) + _dist(p, 63, 65)) / (3 * width)


def user_yaw(landmarks: npt.NDArray[np.float64], *, mirrored: bool) -> float:
    image_yaw = engine.yaw_ratio(landmarks)
    # unmirrored: nose toward the image's right = the user's left
    return -image_yaw if mirrored else image_yaw


# --- the checker ------------------------------------------------------------------------------


def _fail(code: str, detail: str = "", **kwargs: Any) -> LivenessResult:
    return LivenessResult(passed=False, reason_code=code, detail=detail, **kwargs)


def _prepare(frames: Sequence[Any]) -> list[RGBImage] | LivenessResult:
    shape: tuple[int, ...] | None = None
    prepared: list[RGBImage] = []
    for i, frame in enumerate(frames):
        if not (
            isinstance(frame, np.ndarray)
            and frame.dtype == np.uint8
            and frame.ndim == 3
            and frame.shape[2] == 3
            and min(frame.shape[:2]) > 0
        ):
            return _fail("invalid_frame", f"frame {i} is not an RGB uint8 array")
        if max(frame.shape[:2]) > MAX_FRAME_SIDE:
            return _fail("frame_too_large", f"frame {i} is {frame.shape[1]}x{frame.shape[0]}")
        if shape is None:
            shape = frame.shape
        elif frame.shape != shape:
            return _fail("invalid_frame", "frames differ in size")
        small, _ = engine.resize_max_side(np.ascontiguousarray(frame), PROCESS_MAX_SIDE)
        prepared.append(small)
    return prepared


def _signature(frame: RGBImage) -> npt.NDArray[np.float32]:
    grey = Image.fromarray(frame).convert("L")
    thumb = grey.resize((_SIGNATURE_SIDE, _SIGNATURE_SIDE), Image.Resampling.BOX)
    return np.asarray(thumb, dtype=np.float32)


def _motion_check(frames: Sequence[RGBImage]) -> tuple[str, str] | None:
    """A still picture or a padded sequence: (reason code, detail), or None when it moves."""
    sigs = [_signature(f) for f in frames]
    from_first = max(float(np.abs(s - sigs[0]).mean()) for s in sigs[1:])
    if from_first < STATIC_EPS:
        return "static_sequence", f"no frame differs from the first by more than {from_first:.2f}"
    steps = [float(np.abs(b - a).mean()) for a, b in itertools.pairwise(sigs)]
    duplicates = sum(d < DUPLICATE_EPS for d in steps)
    if duplicates > MAX_DUPLICATE_SHARE * len(steps):
        return "repeated_frames", f"{duplicates} of {len(steps)} frames repeat the previous one"
    return None


def _measure(frames: Sequence[RGBImage], mirrored: bool) -> tuple[list[FrameMeasure | None], int]:
    measures: list[FrameMeasure | None] = []
    multi = 0
    detect_side = PROCESS_MAX_SIDE
    for i, frame in enumerate(frames):
        boxes, _ = engine.detect_faces(frame, detect_max_side=detect_side)
        if len(boxes) != 1:
            multi += len(boxes) > 1
            measures.append(None)
            continue
        box = boxes[0]
        # Detect the next frame at the scale where this face is ~DETECT_FACE_PX wide: HOG cost
        # falls with the square of the side (a 150 px face in a 640 px frame: 60 -> 30 ms).
        # A face lost at that scale is looked for again at full size.
        long_side = max(frame.shape[:2])
        detect_side = min(long_side, max(240, round(long_side * DETECT_FACE_PX / box.width)))
        points = engine.landmarks68(frame, box)
        measures.append(
            FrameMeasure(
                index=i,
                box=box,
                landmarks=points,
                ear=eye_aspect_ratio(points),
                mar=mouth_aspect_ratio(points),
                yaw=user_yaw(points, mirrored=mirrored),
                sharpness=engine.sharpness(frame, box),
            )
        )
    return measures, multi


def _find_blink(faces: Sequence[FrameMeasure], after: int) -> ActionEvidence:
    frontal = [m for m in faces if abs(m.yaw) <= BLINK_MAX_YAW]
    best_ratio: float | None = None
    for k, m in enumerate(frontal):
        before = [x.ear for x in frontal[max(0, k - BLINK_WINDOW) : k]]
        later = [x.ear for x in frontal[k + 1 : k + 1 + BLINK_WINDOW]]
        if len(before) < 2 or len(later) < 2:
            continue
        open_level = min(median(before), median(later))
        if open_level <= 1e-6:
            continue
        ratio = m.ear / open_level
        if m.index <= after:
            continue
        if ratio <= BLINK_RATIO:
            return ActionEvidence(Action.BLINK, True, m.index, "ear_ratio", ratio, BLINK_RATIO)
        best_ratio = ratio if best_ratio is None else min(best_ratio, ratio)
    return ActionEvidence(Action.BLINK, False, None, "ear_ratio", best_ratio, BLINK_RATIO)


def _find_mouth(faces: Sequence[FrameMeasure], after: int) -> ActionEvidence:
    lowest = math.inf
    widest: float | None = None
    for m in faces:
        if m.index <= after:
            continue
        if m.mar >= MOUTH_OPEN_MAR and m.mar - lowest >= MOUTH_RISE:
            return ActionEvidence(Action.OPEN_MOUTH, True, m.index, "mar", m.mar, MOUTH_OPEN_MAR)
        lowest = min(lowest, m.mar)
        widest = m.mar if widest is None else max(widest, m.mar)
    return ActionEvidence(Action.OPEN_MOUTH, False, None, "mar", widest, MOUTH_OPEN_MAR)


def _find_turn(faces: Sequence[FrameMeasure], after: int, action: Action) -> ActionEvidence:
    sign = 1.0 if action is Action.TURN_LEFT else -1.0
    neutral_seen = False
    furthest: float | None = None
    for m in faces:
        if m.index <= after:
            continue
        turned = sign * m.yaw
        if neutral_seen and turned >= YAW_TURN:
            return ActionEvidence(action, True, m.index, "yaw", m.yaw, sign * YAW_TURN)
        if abs(m.yaw) <= YAW_NEUTRAL:
            neutral_seen = True
        furthest = m.yaw if furthest is None or turned > sign * furthest else furthest
    return ActionEvidence(action, False, None, "yaw", furthest, sign * YAW_TURN)


def _find(action: Action, faces: Sequence[FrameMeasure], after: int) -> ActionEvidence:
    if action is Action.BLINK:
        return _find_blink(faces, after)
    if action is Action.OPEN_MOUTH:
        return _find_mouth(faces, after)
    return _find_turn(faces, after, action)


def _check_actions(
    faces: Sequence[FrameMeasure], actions: tuple[Action, Action]
) -> tuple[str | None, tuple[ActionEvidence, ...]]:
    first = _find(actions[0], faces, -1)
    after = first.frame_index if first.frame_index is not None else -1
    second = _find(actions[1], faces, after)
    evidence = (first, second)
    if first.detected and second.detected:
        return None, evidence
    alone = [e if e.detected else _find(e.action, faces, -1) for e in evidence]
    if not all(e.detected for e in alone):
        return "action_not_detected", tuple(alone)
    # both happen, but not in the order asked
    return "wrong_order", tuple(alone)


def _best_frame(faces: Sequence[FrameMeasure], frame_shape: tuple[int, ...]) -> FrameMeasure | None:
    frontal = [m for m in faces if abs(m.yaw) <= BEST_MAX_YAW]
    if not frontal:
        return None
    open_level = median(m.ear for m in frontal)
    height, width = frame_shape[:2]
    candidates = [
        m
        for m in frontal
        if m.ear >= 0.85 * open_level
        and m.box.short_side >= engine.MIN_FACE_PX
        and m.sharpness >= engine.BLUR_MIN_SHARPNESS
        and m.box.outside_fraction(height, width) <= engine.MAX_OUTSIDE_FRACTION
    ]
    if not candidates:
        return None

    def score(m: FrameMeasure) -> float:
        return min(m.sharpness, 200.0) * (1 - 2 * abs(m.yaw)) * min(1.0, m.box.short_side / 150)

    return max(candidates, key=score)


def _continuity(faces: Sequence[FrameMeasure]) -> str | None:
    """A live take moves smoothly: the face never leaps across the frame or changes size at once."""
    for a, b in itertools.pairwise(faces):
        width = (a.box.width + b.box.width) / 2
        jump = math.hypot(
            (a.box.left + a.box.right - b.box.left - b.box.right) / 2,
            (a.box.top + a.box.bottom - b.box.top - b.box.bottom) / 2,
        )
        gap = min(b.index - a.index, 3)
        ratio = max(a.box.width, b.box.width) / max(min(a.box.width, b.box.width), 1)
        if jump > MAX_JUMP * gap * width or ratio > MAX_SIZE_RATIO:
            return f"the face jumps between frames {a.index} and {b.index}"
    return None


def _identity_chain(
    frames: Sequence[RGBImage],
    faces: Sequence[FrameMeasure],
    best: FrameMeasure,
    best_encoding: engine.Encoding,
    evidence: Sequence[ActionEvidence],
) -> tuple[float, str | None]:
    """Check that every sampled frame is the best frame's person, linking neighbours in time.

    Distances between frames of one person in a small, compressed video grow with the difference
    in pose (up to 0.68 across clip_short_hamilton.mp4, as far as impostors), but frames close in
    time stay close (<= 0.50 at 10 fps). So anchors (the best frame, the action frames, evenly
    spaced samples) are linked in time order; a link longer than IDENTITY_LINK is bisected until
    it is short enough or joins two adjacent face frames, which is an identity change.
    """
    must = {best.index, *(e.frame_index for e in evidence if e.frame_index is not None)}
    chain = [m for m in faces if m.sharpness >= IDENTITY_MIN_SHARPNESS or m.index in must]
    position = {m.index: k for k, m in enumerate(chain)}
    cache: dict[int, engine.Encoding] = {position[best.index]: best_encoding}

    def encoding(k: int) -> engine.Encoding:
        if k not in cache:
            if len(cache) >= MAX_IDENTITY_ENCODINGS:
                raise _BudgetExceeded
            cache[k] = engine.encode(frames[chain[k].index], chain[k].box)
        return cache[k]

    step = max(1, math.ceil(len(chain) / IDENTITY_SAMPLES))
    anchors = sorted({*range(0, len(chain), step), len(chain) - 1, *(position[i] for i in must)})
    worst = 0.0
    pending = list(itertools.pairwise(anchors))
    try:
        while pending:
            a, b = pending.pop()
            distance = engine.face_distance(encoding(a), encoding(b))
            if distance <= IDENTITY_LINK:
                worst = max(worst, distance)
            elif b - a <= 1:
                return distance, (
                    f"frames {chain[a].index} and {chain[b].index} show different faces "
                    f"(distance {distance:.3f})"
                )
            else:
                mid = (a + b) // 2
                pending += [(a, mid), (mid, b)]
    except _BudgetExceeded:
        return worst, "the faces in the frames could not be linked"
    return worst, None


class _BudgetExceeded(Exception):
    pass


def check_liveness(
    frames: Sequence[RGBImage],
    actions: Sequence[Action | str],
    *,
    mirrored: bool = False,
    reference: FaceAnalysis | npt.NDArray[Any] | None = None,
    threshold: float = engine.MATCH_THRESHOLD,
) -> LivenessResult:
    """Decide whether ``frames`` show one live person doing ``actions`` in order.

    With ``reference`` (the ID portrait's analysis or encoding) the best frame is matched against
    it and a mismatch fails with ``face_mismatch``. Blocking (~40 ms a frame plus ~0.1 s per
    encoding): run it in the face pool.
    """
    wanted = tuple(Action(a) for a in actions)
    if len(wanted) != 2 or wanted[0] == wanted[1]:
        raise ValueError("a challenge is two distinct actions")
    challenge: tuple[Action, Action] = (wanted[0], wanted[1])
    total = len(frames)
    if total < MIN_FRAMES:
        return _fail("too_few_frames", f"{total} frames; at least {MIN_FRAMES}", frames_total=total)
    if total > MAX_FRAMES:
        return _fail("too_many_frames", f"{total} frames; at most {MAX_FRAMES}", frames_total=total)
    prepared = _prepare(frames)
    if isinstance(prepared, LivenessResult):
        return prepared
    still = _motion_check(prepared)
    if still is not None:
        return _fail(*still, frames_total=total)

    measures, multi = _measure(prepared, mirrored)
    faces = [m for m in measures if m is not None]
    counts = {"frames_total": total, "frames_with_face": len(faces)}
    if multi > MAX_MULTI_FACE_FRAMES:
        return _fail("multiple_faces", f"{multi} frames show more than one face", **counts)
    if len(faces) < MIN_FACE_FRAME_SHARE * total:
        return _fail("face_missing", f"a face in {len(faces)} of {total} frames", **counts)
    jump = _continuity(faces)
    if jump is not None:
        return _fail("discontinuous", jump, **counts)

    problem, evidence = _check_actions(faces, challenge)
    if problem is not None:
        missing = ", ".join(e.action.value for e in evidence if not e.detected)
        detail = f"not seen: {missing}" if missing else "actions seen in the opposite order"
        return _fail(problem, detail, evidence=evidence, **counts)

    best = _best_frame(faces, prepared[0].shape)
    if best is None:
        return _fail(
            "no_usable_frame", "no sharp, frontal, eyes-open frame", evidence=evidence, **counts
        )
    best_face = FaceAnalysis(
        encoding=engine.encode(prepared[best.index], best.box),
        box=best.box,
        landmarks=best.landmarks,
        quality=engine.FaceQuality(
            face_px=best.box.short_side,
            sharpness=best.sharpness,
            outside_fraction=best.box.outside_fraction(*prepared[0].shape[:2]),
            yaw=engine.yaw_ratio(best.landmarks),
            upsampled=False,
        ),
    )
    common: dict[str, Any] = {
        **counts,
        "evidence": evidence,
        "best_frame_index": best.index,
        "best_face": best_face,
    }
    distance, changed = _identity_chain(prepared, faces, best, best_face.encoding, evidence)
    common["identity_distance"] = distance
    if changed is not None:
        return _fail("identity_changed", changed, **common)

    if reference is not None:
        verdict = engine.compare(reference, best_face, threshold)
        if not verdict.match:
            return _fail(
                "face_mismatch", f"distance {verdict.distance:.3f}", match=verdict, **common
            )
        return LivenessResult(passed=True, reason_code="ok", match=verdict, **common)
    return LivenessResult(passed=True, reason_code="ok", **common)
