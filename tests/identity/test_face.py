"""Face engine on the real photos of ../shared/faces: matching at the calibrated threshold, every
photo-quality error, the CLI and the bounded pool."""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from identity.face import calibrate, cli, engine
from identity.face.pool import FacePool, PoolBusy

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "faces"
PHOTOS, EXCLUDED = calibrate.read_labels(FACES)
PAIRS = [
    pytest.param(a.file, b.file, a.person == b.person, id=f"{a.file}-{b.file}")
    for a, b in itertools.combinations(PHOTOS, 2)
]


def _jpeg(image: Image.Image | np.ndarray, **kwargs: object) -> bytes:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, **kwargs)
    return out.getvalue()


@pytest.fixture(scope="session")
def analyses() -> dict[str, engine.FaceAnalysis]:
    """Every labelled single-person photo analysed once for the whole run."""
    return {p.file: engine.analyse_photo((FACES / p.file).read_bytes()) for p in PHOTOS}


@pytest.fixture(scope="session")
def obama() -> np.ndarray:
    return engine.load_image((FACES / "obama_1.jpg").read_bytes())


def test_labels_give_the_documented_pairs() -> None:
    genuine = sum(p.values[2] for p in PAIRS)
    assert (genuine, len(PAIRS) - genuine) == (10, 26)
    assert "multi_two_people.jpg" in EXCLUDED


@pytest.mark.parametrize(("a", "b", "genuine"), PAIRS)
def test_pair_decided_correctly_at_the_calibrated_threshold(
    analyses: dict[str, engine.FaceAnalysis], a: str, b: str, genuine: bool
) -> None:
    verdict = engine.compare(analyses[a], analyses[b])
    assert verdict.threshold == engine.MATCH_THRESHOLD
    assert verdict.match is genuine, verdict


def test_threshold_is_the_calibrated_one(analyses: dict[str, engine.FaceAnalysis]) -> None:
    by_digest = {
        hashlib.sha256((FACES / name).read_bytes()).digest(): face
        for name, face in analyses.items()
    }
    result = calibrate.calibrate(
        FACES, analyse=lambda data: by_digest[hashlib.sha256(data).digest()]
    )
    assert result.recommended == engine.MATCH_THRESHOLD
    assert result.rates(engine.MATCH_THRESHOLD) == (0.0, 0.0)
    assert max(result.genuine) < engine.MATCH_THRESHOLD < min(result.impostor)
    assert result.threshold_at_target < min(result.impostor)
    report = calibrate.format_report(result)
    assert "genuine" in report and "impostor" in report and "recommended" in report


def test_threshold_at_far_picks_the_largest_safe_threshold() -> None:
    impostor = [0.7, 0.8, 0.9, 1.0]
    assert calibrate.threshold_at_far(impostor, 0.0) == pytest.approx(0.699)
    assert calibrate.threshold_at_far(impostor, 0.25) == pytest.approx(0.799)
    assert calibrate.far_frr([0.3, 0.6], impostor, 0.5) == (0.0, 0.5)
    assert calibrate.far_frr([0.3, 0.6], impostor, 0.75) == (0.25, 0.0)


def test_multi_two_people_is_refused_as_a_selfie() -> None:
    with pytest.raises(engine.MultipleFaces) as caught:
        engine.verify(
            (FACES / "obama_1.jpg").read_bytes(), (FACES / "multi_two_people.jpg").read_bytes()
        )
    assert caught.value.code == "multiple_faces"
    assert caught.value.subject == "selfie"
    assert caught.value.to_dict()["message_zh"]


def test_verify_matches_the_same_person_and_rejects_another() -> None:
    id_portrait = (FACES / "obama_2.jpg").read_bytes()
    assert engine.verify(id_portrait, (FACES / "obama_1.jpg").read_bytes()).match
    assert not engine.verify(id_portrait, (FACES / "biden_2.jpg").read_bytes()).match


def test_small_and_partial_photos_of_the_set_are_usable(
    analyses: dict[str, engine.FaceAnalysis],
) -> None:
    small = analyses["obama_3_small.jpg"].quality
    assert engine.MIN_FACE_PX <= small.face_px < 120 and not small.upsampled
    partial = analyses["obama_4_partial.jpg"].quality
    assert 0.1 < partial.outside_fraction <= engine.MAX_OUTSIDE_FRACTION
    assert analyses["alex_2.jpg"].box.right <= engine.WORK_MAX_SIDE


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda o: Image.linear_gradient("L").resize((640, 480)), id="gradient"),
        pytest.param(lambda o: Image.fromarray(o[-300:, :400]), id="background-crop"),
    ],
)
def test_no_face(obama: np.ndarray, make: object) -> None:
    image = make(obama)  # type: ignore[operator]
    with pytest.raises(engine.NoFace) as caught:
        engine.analyse_photo(_jpeg(image.convert("RGB")))
    assert caught.value.code == "no_face"


def test_blurred_face_is_refused(
    obama: np.ndarray, analyses: dict[str, engine.FaceAnalysis]
) -> None:
    face_px = analyses["obama_1.jpg"].quality.face_px
    blurred = Image.fromarray(obama).filter(ImageFilter.GaussianBlur(0.03 * face_px))
    with pytest.raises(engine.FaceTooBlurry) as caught:
        engine.analyse_photo(_jpeg(blurred))
    assert caught.value.code == "face_too_blurry"
    # a slight blur stays usable
    soft = Image.fromarray(obama).filter(ImageFilter.GaussianBlur(0.005 * face_px))
    assert engine.analyse_photo(_jpeg(soft)).quality.sharpness >= engine.BLUR_MIN_SHARPNESS


def test_tiny_face_is_refused(obama: np.ndarray) -> None:
    tiny = Image.fromarray(obama).resize((160, 200))
    with pytest.raises(engine.FaceTooSmall) as caught:
        engine.analyse_photo(_jpeg(tiny))
    assert caught.value.code == "face_too_small"


def test_face_cut_by_the_frame_is_refused(obama: np.ndarray) -> None:
    cut = obama[: int(obama.shape[0] * 0.28)]  # the chin and mouth are below the frame
    with pytest.raises(engine.FaceCutOff) as caught:
        engine.analyse_photo(_jpeg(cut))
    assert caught.value.code == "face_cut_off"


def test_exif_orientation_is_applied() -> None:
    upright = Image.open(FACES / "obama_2.jpg")
    sideways = upright.transpose(Image.Transpose.ROTATE_90)  # stored rotated, as cameras do
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    image = engine.load_image(_jpeg(sideways, exif=exif.tobytes()))
    assert image.shape[0] > image.shape[1]  # portrait again
    engine.analyse_face(image)


def test_large_photos_are_downscaled_and_transparency_flattened() -> None:
    assert 768 <= max(engine.load_image((FACES / "alex_2.jpg").read_bytes()).shape[:2]) <= 1024
    big = Image.open(FACES / "biden_2.jpg").resize((3000, 3000))
    assert 768 <= max(engine.load_image(_jpeg(big)).shape[:2]) <= 1024
    png = io.BytesIO()
    big.save(png, "PNG")
    assert engine.load_image(png.getvalue()).shape == (1024, 1024, 3)
    rgba = Image.new("RGBA", (64, 48), (0, 0, 0, 0))
    out = io.BytesIO()
    rgba.save(out, "PNG")
    image = engine.load_image(out.getvalue())
    assert image.shape == (48, 64, 3) and image.min() == 255


@pytest.mark.parametrize(
    ("data", "error"),
    [
        pytest.param(b"", engine.InvalidImage, id="empty"),
        pytest.param(b"%PDF-1.7 definitely not a photo", engine.InvalidImage, id="pdf"),
        pytest.param(_jpeg(Image.new("RGB", (64, 64)))[:200], engine.InvalidImage, id="truncated"),
        pytest.param(
            b"\0" * (engine.MAX_INPUT_BYTES + 1), engine.ImageTooLarge, id="too-many-bytes"
        ),
    ],
)
def test_unreadable_input(data: bytes, error: type[engine.FaceError]) -> None:
    with pytest.raises(error):
        engine.load_image(data)


def test_gif_and_decompression_bomb_are_refused() -> None:
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, "GIF")
    with pytest.raises(engine.InvalidImage):
        engine.load_image(gif.getvalue())
    bomb = io.BytesIO()
    Image.new("1", (8000, 8000)).save(bomb, "PNG")  # 64 MP of nothing, ~8 kB compressed
    assert len(bomb.getvalue()) < 100_000
    with pytest.raises(engine.ImageTooLarge) as caught:
        engine.load_image(bomb.getvalue())
    assert caught.value.code == "image_too_large"


def test_error_codes_are_stable() -> None:
    assert [e.code for e in engine.ERROR_TYPES] == [
        "invalid_image",
        "image_too_large",
        "no_face",
        "multiple_faces",
        "face_too_small",
        "face_too_blurry",
        "face_cut_off",
    ]


# --- CLI --------------------------------------------------------------------------------------


def test_compare_cli_prints_a_json_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.compare_main([str(FACES / "biden_1.jpg"), str(FACES / "biden_2.jpg")])
    verdict = json.loads(capsys.readouterr().out)
    assert code == 0
    assert verdict["match"] is True
    assert verdict["threshold"] == engine.MATCH_THRESHOLD
    assert 0 < verdict["distance"] < engine.MATCH_THRESHOLD

    code = cli.compare_main([str(FACES / "obama_1.jpg"), str(FACES / "multi_two_people.jpg")])
    out = json.loads(capsys.readouterr().out)
    assert code == 2
    assert out["error"] == "multiple_faces"
    assert out["subject"].endswith("multi_two_people.jpg")


def test_calibrate_cli_json(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    analyses: dict[str, engine.FaceAnalysis],
) -> None:
    by_digest = {
        hashlib.sha256((FACES / name).read_bytes()).digest(): face
        for name, face in analyses.items()
    }
    monkeypatch.setattr(
        engine, "analyse_photo", lambda data: by_digest[hashlib.sha256(data).digest()]
    )
    assert cli.calibrate_main([str(FACES), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["genuine"]["count"] == 10 and report["impostor"]["count"] == 26
    assert report["recommended"] == {"threshold": engine.MATCH_THRESHOLD, "far": 0.0, "frr": 0.0}
    assert report["roc"][0]["frr"] > 0 and report["roc"][-1]["far"] > 0
    assert cli.calibrate_main([str(FACES / "missing")]) == 2


# --- pool -------------------------------------------------------------------------------------


async def test_pool_runs_off_the_event_loop() -> None:
    pool = FacePool(max_workers=2, max_queue=1)
    try:
        loop_thread = threading.get_ident()
        assert await pool.run(threading.get_ident) != loop_thread
        assert await pool.run(lambda x, y=1: x + y, 1, y=2) == 3
    finally:
        await pool.aclose()


async def test_pool_refuses_at_once_when_full_and_recovers() -> None:
    pool = FacePool(max_workers=1, max_queue=1, initial_job_s=2.0)
    gate = threading.Event()
    try:
        running = [asyncio.ensure_future(pool.run(gate.wait, 10)) for _ in range(2)]
        await asyncio.sleep(0)
        assert pool.in_flight == 2
        with pytest.raises(PoolBusy) as caught:
            await pool.run(gate.wait, 10)
        assert caught.value.status == 429
        assert caught.value.retry_after_s >= 2  # two jobs ahead, one worker, ~2 s each
        assert pool.rejected == 1
        gate.set()
        assert await asyncio.gather(*running) == [True, True]
        assert pool.in_flight == 0
        assert await pool.run(lambda: "free again") == "free again"
    finally:
        gate.set()
        await pool.aclose()


async def test_cancelled_request_keeps_its_slot_until_the_work_ends() -> None:
    pool = FacePool(max_workers=1, max_queue=0)
    gate = threading.Event()
    try:
        task = asyncio.ensure_future(pool.run(gate.wait, 10))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(PoolBusy):  # the thread is still busy
            await pool.run(gate.wait, 10)
        gate.set()
        for _ in range(100):
            if pool.in_flight == 0:
                break
            await asyncio.sleep(0.01)
        assert await pool.run(lambda: 1) == 1
    finally:
        gate.set()
        await pool.aclose()


async def test_concurrent_analyses_give_the_sequential_results(
    analyses: dict[str, engine.FaceAnalysis],
) -> None:
    """dlib's detector and network are not thread-safe; each worker must use its own models."""
    pool = FacePool(max_workers=2, max_queue=6)
    names = ["obama_1.jpg", "biden_2.jpg", "alex_1.jpg", "obama_2.jpg"] * 2
    try:
        await pool.prime(engine.warm_up)
        faces = await asyncio.gather(
            *(pool.run(engine.analyse_photo, (FACES / n).read_bytes()) for n in names)
        )
    finally:
        await pool.aclose()
    for name, face in zip(names, faces, strict=True):
        assert face.box == analyses[name].box
        assert np.array_equal(face.landmarks, analyses[name].landmarks)  # shared predictors
        assert engine.face_distance(face, analyses[name]) < 1e-6


async def test_pool_verifies_photos() -> None:
    pool = FacePool(max_workers=2, max_queue=2)
    try:
        id_portrait = (FACES / "obama_2.jpg").read_bytes()
        selfie = (FACES / "obama_3_small.jpg").read_bytes()
        verdict = await pool.run(engine.verify, id_portrait, selfie)
        assert verdict.match
    finally:
        pool.close()
    with pytest.raises(RuntimeError):
        pool.submit(engine.warm_up)
