"""Liveness checker on real and synthesised frame sequences, genuine and attacks.

Where the frames come from (honestly):

* **Real**: ``clip_short_hamilton.mp4`` decoded at 10 fps. Seconds ~2.8-7.0 show one man (87-104 px
  face) singing: real head turns to his right (yaw to -0.6) and to his left (+0.4), and his mouth
  opening (MAR up to 0.46). The clip has no blink, and it is unmirrored broadcast video.
* **Synthetic**, from the still photo obama_1.jpg (and biden_2.jpg for a splice): a hand-held camera
  is imitated by sub-pixel shifts and sensor noise on every frame; a head turn by a 2.5-D warp that
  moves each pixel sideways by depth x sin(angle) (an ellipsoid head plus a nose bump); a blink by
  pulling the skin above each upper eyelid down over the eye and drawing a lash line. dlib
  under-reports this closure (EAR falls to ~0.6 of open, a real blink goes lower), which the
  checker's relative blink threshold (0.75) accepts.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend.demo.face_actor import Actor, handheld
from identity.face import engine, liveness, video
from identity.face.liveness import Action, check_liveness

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "faces"
Frames = list[np.ndarray]


# --- synthesis --------------------------------------------------------------------------------


def tilt_photo(image: np.ndarray, degrees: float) -> np.ndarray:
    """A flat photo rotated about its vertical axis in front of the camera (perspective)."""
    h, w = image.shape[:2]
    f, phi = 1.5 * w, np.radians(degrees)

    def project(x: float, y: float) -> tuple[float, float]:
        z = f + (x - w / 2) * np.sin(phi)
        return w / 2 + f * (x - w / 2) * np.cos(phi) / z, h / 2 + f * (y - h / 2) / z

    corners = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
    rows, rhs = [], []
    for (x, y), (u, v) in zip(corners, [project(*c) for c in corners], strict=True):
        rows += [[u, v, 1, 0, 0, 0, -x * u, -x * v], [0, 0, 0, u, v, 1, -y * u, -y * v]]
        rhs += [x, y]
    coeffs = np.linalg.solve(np.array(rows, float), np.array(rhs, float))
    tilted = Image.fromarray(image).transform(
        (w, h), Image.Transform.PERSPECTIVE, tuple(coeffs), Image.Resampling.BILINEAR
    )
    return np.asarray(tilted)


# --- fixtures ---------------------------------------------------------------------------------


def _portrait(name: str) -> np.ndarray:
    return engine.load_image((FACES / name).read_bytes(), max_side=640)


@pytest.fixture(scope="module")
def obama() -> Actor:
    return Actor(_portrait("obama_1.jpg"))


@pytest.fixture(scope="module")
def clip() -> Frames:
    """The whole clip at 10 fps (frame k is at k / 10 s)."""
    data = (FACES / "clip_short_hamilton.mp4").read_bytes()
    return video.decode_clip(data, max_seconds=10, max_frames=100)


@pytest.fixture(scope="module")
def id_portraits() -> dict[str, engine.FaceAnalysis]:
    return {
        name: engine.analyse_photo((FACES / f"{name}_2.jpg").read_bytes())
        for name in ("obama", "biden")
    }


def _codes(result: liveness.LivenessResult) -> str:
    return f"{result.reason_code}: {result.detail} {[e.to_dict() for e in result.evidence]}"


# --- challenge --------------------------------------------------------------------------------


def test_challenge_is_two_distinct_random_actions() -> None:
    seen = {liveness.new_challenge(random.Random(seed)) for seed in range(200)}
    assert all(a != b for a, b in seen)
    assert len(seen) == 12  # every ordered pair of the four actions
    first, second = liveness.new_challenge()
    assert first != second
    assert liveness.CHALLENGE_TTL_S <= 60


def test_prompts_are_bilingual() -> None:
    assert Action.BLINK.prompt == "请眨眼 / Blink"
    for action in Action:
        assert action.prompt_zh and action.prompt_en.isascii()


def test_a_challenge_must_be_two_distinct_actions(obama: Actor) -> None:
    with pytest.raises(ValueError):
        check_liveness(obama.neutral(8), [Action.BLINK, Action.BLINK])
    with pytest.raises(ValueError):
        check_liveness(obama.neutral(8), ["wink", "blink"])


# --- genuine sequences ------------------------------------------------------------------------


def test_real_clip_turn_right_then_open_mouth(clip: Frames) -> None:
    result = check_liveness(clip[28:41], [Action.TURN_RIGHT, Action.OPEN_MOUTH])
    assert result.passed, _codes(result)
    turn, mouth = result.evidence
    assert turn.detected and turn.value is not None and turn.value <= -liveness.YAW_TURN
    assert mouth.detected and mouth.value is not None and mouth.value >= liveness.MOUTH_OPEN_MAR
    assert turn.frame_index is not None and mouth.frame_index is not None
    assert turn.frame_index < mouth.frame_index
    assert result.best_frame_index is not None and result.best_face is not None
    assert result.identity_distance is not None
    assert result.identity_distance <= liveness.IDENTITY_LINK


def test_real_clip_turn_left_then_right_and_mirroring(clip: Frames) -> None:
    frames = clip[46:71]
    result = check_liveness(frames, ["turn_left", "turn_right"])
    assert result.passed, _codes(result)
    # the same frames mirrored (as a selfie preview): directions swap
    mirrored = [np.ascontiguousarray(f[:, ::-1]) for f in frames]
    flipped = check_liveness(mirrored, ["turn_right", "turn_left"])
    assert flipped.passed, _codes(flipped)
    assert check_liveness(mirrored, ["turn_left", "turn_right"], mirrored=True).passed


def test_synthetic_blink_then_turn_left_matches_the_id_portrait(
    obama: Actor, id_portraits: dict[str, engine.FaceAnalysis]
) -> None:
    frames = obama.perform(Action.BLINK, Action.TURN_LEFT)
    result = check_liveness(
        frames, [Action.BLINK, Action.TURN_LEFT], reference=id_portraits["obama"]
    )
    assert result.passed, _codes(result)
    assert result.match is not None and result.match.match
    blink, turn = result.evidence
    assert blink.value is not None and blink.value <= liveness.BLINK_RATIO
    assert 3 <= (blink.frame_index or 0) <= 6  # inside the synthetic blink
    assert turn.value is not None and turn.value >= liveness.YAW_TURN
    best = result.best_frame_index
    assert best is not None and abs(engine.yaw_ratio(result.best_face.landmarks)) < 0.1  # type: ignore[union-attr]
    assert result.to_dict()["passed"] is True

    # the same live person is not the holder of another ID card
    other = check_liveness(
        frames, [Action.BLINK, Action.TURN_LEFT], reference=id_portraits["biden"]
    )
    assert not other.passed and other.reason_code == "face_mismatch"
    assert other.match is not None and not other.match.match


def test_synthetic_turn_right_then_blink_mirrored(obama: Actor) -> None:
    frames = obama.perform(Action.TURN_RIGHT, Action.BLINK, mirrored=True)
    result = check_liveness(frames, [Action.TURN_RIGHT, Action.BLINK], mirrored=True)
    assert result.passed, _codes(result)


# --- attacks and bad input --------------------------------------------------------------------


def test_still_photo_repeated_is_rejected(obama: Actor) -> None:
    result = check_liveness([obama.image] * 20, [Action.BLINK, Action.TURN_LEFT])
    assert result.reason_code == "static_sequence" and not result.passed


def test_single_frame_duplicated_is_rejected(clip: Frames) -> None:
    frame = clip[40]
    result = check_liveness(
        [frame.copy() for _ in range(15)], [Action.TURN_RIGHT, Action.OPEN_MOUTH]
    )
    assert result.reason_code == "static_sequence"


def test_frames_repeated_to_pad_a_sequence_are_rejected(clip: Frames) -> None:
    padded = [frame for frame in clip[28:41] for _ in range(3)]
    result = check_liveness(padded, [Action.TURN_RIGHT, Action.OPEN_MOUTH])
    assert result.reason_code == "repeated_frames"


def test_still_photo_held_in_a_shaky_hand_shows_no_action(obama: Actor) -> None:
    for actions in ([Action.BLINK, Action.TURN_LEFT], [Action.TURN_RIGHT, Action.TURN_LEFT]):
        result = check_liveness(obama.neutral(16), actions)
        assert result.reason_code == "action_not_detected", _codes(result)


def test_tilting_a_photo_is_not_a_head_turn(obama: Actor) -> None:
    angles = [0, 0, 15, 30, 45, 30, 15, 0, 0, -15, -30, -45, -30, -15, 0, 0]
    frames = [handheld(tilt_photo(obama.image, a), obama.rng) for a in angles]
    result = check_liveness(frames, [Action.TURN_LEFT, Action.TURN_RIGHT])
    assert result.reason_code == "action_not_detected", _codes(result)
    assert all(abs(e.value or 0) < liveness.YAW_TURN for e in result.evidence)


def test_actions_in_the_wrong_order_are_rejected(obama: Actor, clip: Frames) -> None:
    frames = obama.perform(Action.TURN_LEFT, Action.BLINK)
    result = check_liveness(frames, [Action.BLINK, Action.TURN_LEFT])
    assert result.reason_code == "wrong_order", _codes(result)
    assert all(e.detected for e in result.evidence)
    real = check_liveness(clip[28:41], [Action.OPEN_MOUTH, Action.TURN_RIGHT])
    assert real.reason_code == "wrong_order", _codes(real)


def test_only_one_action_done_is_rejected(obama: Actor) -> None:
    frames = obama.perform(Action.BLINK)
    result = check_liveness(frames, [Action.BLINK, Action.TURN_RIGHT])
    assert result.reason_code == "action_not_detected"
    assert [e.detected for e in result.evidence] == [True, False]


def test_another_persons_face_spliced_in_is_rejected(obama: Actor) -> None:
    """Obama blinks, then Biden (scaled and placed exactly over Obama's face) turns."""
    biden = engine.load_image((FACES / "biden_2.jpg").read_bytes())
    theirs = engine.analyse_face(biden).box
    ours = obama.box
    scale = ours.width / theirs.width
    resized = Image.fromarray(biden).resize(
        (round(biden.shape[1] * scale), round(biden.shape[0] * scale)), Image.Resampling.LANCZOS
    )
    canvas = Image.new("RGB", (obama.image.shape[1], obama.image.shape[0]), (128, 128, 128))
    canvas.paste(
        resized, (round(ours.left - theirs.left * scale), round(ours.top - theirs.top * scale))
    )
    accomplice = Actor(np.asarray(canvas), seed=1)
    shift = np.hypot(accomplice.box.left - ours.left, accomplice.box.top - ours.top)
    assert shift < 0.2 * ours.width  # aligned: the face does not jump

    frames = (
        obama.neutral(3) + obama.blink() + obama.neutral(2) + accomplice.perform(Action.TURN_LEFT)
    )
    result = check_liveness(frames, [Action.BLINK, Action.TURN_LEFT])
    assert result.reason_code == "identity_changed", _codes(result)


def test_a_face_jumping_between_shots_is_rejected(clip: Frames) -> None:
    # the singer, then a cut to the audience
    result = check_liveness(clip[46:66] + clip[73:82], [Action.TURN_LEFT, Action.TURN_RIGHT])
    assert result.reason_code in {"discontinuous", "identity_changed"}, _codes(result)


def test_too_few_and_too_many_frames(clip: Frames) -> None:
    assert check_liveness(clip[28:33], ["blink", "open_mouth"]).reason_code == "too_few_frames"
    too_many = clip[: liveness.MAX_FRAMES + 1]
    assert check_liveness(too_many, ["blink", "open_mouth"]).reason_code == "too_many_frames"


def test_frames_without_a_face_are_rejected() -> None:
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 255, (240, 320, 3), dtype=np.uint8) for _ in range(10)]
    assert check_liveness(frames, ["blink", "turn_left"]).reason_code == "face_missing"


def test_two_people_in_view_are_rejected() -> None:
    two = engine.load_image((FACES / "multi_two_people.jpg").read_bytes(), max_side=640)
    rng = np.random.default_rng(4)
    frames = [handheld(two, rng) for _ in range(10)]
    assert check_liveness(frames, ["blink", "turn_left"]).reason_code == "multiple_faces"


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda f: [f.astype(np.float32)] * 10, "invalid_frame"),
        (lambda f: [f] * 5 + [f[:100]] * 5, "invalid_frame"),
        (lambda f: [np.zeros((2000, 1000, 3), np.uint8)] * 10, "frame_too_large"),
    ],
    ids=["float-pixels", "mixed-sizes", "too-large"],
)
def test_malformed_frames(clip: Frames, make: Callable[[np.ndarray], Frames], code: str) -> None:
    assert check_liveness(make(clip[40]), ["blink", "turn_left"]).reason_code == code


# --- clip decoding ----------------------------------------------------------------------------


def test_decode_clip_limits() -> None:
    data = (FACES / "clip_short_hamilton.mp4").read_bytes()
    with pytest.raises(video.ClipTooLong):  # 9.2 s
        video.decode_clip(data)
    frames = video.decode_clip(data, max_seconds=10, max_frames=100)
    assert len(frames) == 92 and frames[0].shape == (360, 640, 3)
    with pytest.raises(video.InvalidClip) as caught:
        video.decode_clip(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 1000)
    assert caught.value.code == "invalid_clip"
