"""Face detection, quality checks and 1:1 matching with dlib and face_recognition's models.

Pure, blocking domain code: call it through :class:`identity.face.pool.FacePool`, never on the event
loop. Nothing here keeps an image or an encoding after it returns (PIPL Art. 19: the caller decides
how long a biometric template lives, which should be the verification attempt only).

Pipeline for one photo: :func:`load_image` (Pillow, EXIF orientation, RGB, long side ≤ 1024 px) →
:func:`analyse_face` (HOG detection on a ≤ 640 px copy, exactly one face, size / cut-off / blur
checks, 68-point landmarks, 128-d encoding) → :func:`compare` (Euclidean distance against the
calibrated :data:`MATCH_THRESHOLD`).
"""

from __future__ import annotations

import importlib.util
import io
import math
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

RGBImage = npt.NDArray[np.uint8]
Encoding = npt.NDArray[np.float64]

# --- calibrated constants ---------------------------------------------------------------------

#: Largest encoding distance accepted as "same person" (library default: 0.6).
#: Calibrated with ``mobile-court face calibrate ../shared/faces`` on this exact pipeline (9 usable
#: photos, 10 genuine and 26 impostor pairs): genuine 0.061-0.541 (mean 0.347), impostor
#: 0.700-1.016 (mean 0.831). FAR = 0 holds up to 0.699; we keep a 0.12 safety margin away from
#: the impostors (0.699 - 0.12 = 0.579, rounded down to 0.57) because 26 impostor pairs among three
#: people under-sample the impostor tail, dlib's model is known to put faces of one ethnicity (East
#: Asian faces in particular) closer together than this set does, and in a court identity check a
#: false accept is worse than a retry. On the set: FAR 0/26, FRR 0/10; the worst genuine pair
#: (alex_2/alex_3, 0.541) is 0.029 below the threshold, the closest impostor pair (obama_2/alex_2,
#: 0.700) 0.130 above it.
MATCH_THRESHOLD = 0.57
METHOD = "dlib_resnet_v1_hog_l2"

#: Long side of the working image (encoding, landmarks, quality) and of the detection copy.
WORK_MAX_SIDE = 1024
DETECT_MAX_SIDE = 640
DRAFT_MIN_FRACTION = 0.75
#: Images whose long side is at most this are small enough for one upsampling pass when no face
#: is found at native resolution (the upsampled pass costs ~4x).
SMALL_IMAGE_SIDE = 800

#: Smallest accepted face: short side of the HOG box in the working image. dlib's HOG boxes come
#: in steps (..., 45, 53, 62, 73, 87, 104, 126, ...) and 73 px is the smallest it finds without
#: upsampling. Downscaling obama_1/obama_2/alex_1/biden_2 until the box is 73 px moved their genuine
#: distances by at most 0.04 and impostor distances not at all, so 72 is safe for matching; faces
#: that need upsampling to be found are refused with "move closer". obama_3_small.jpg (320x240)
#: has a 104 px box and is accepted.
MIN_FACE_PX = 72

#: Variance of the 4-neighbour Laplacian on the face box resized to 128x128 grey. Sharp photos in
#: the set score 72-872; a Gaussian blur of 2 % of the face width scores 4-18 and raises genuine
#: distances by up to 0.1, 3 % scores <= 7 (+0.15). Below 10 the match is no longer trustworthy.
BLUR_MIN_SHARPNESS = 10.0
_SHARPNESS_SIDE = 128

#: A face whose detector box lies more than this fraction outside the frame, or whose eyes, nose
#: or mouth landmarks fall outside it, is cut off. obama_4_partial.jpg has 23 % of its box outside
#: the frame, all key landmarks inside, and matches the other Obama photos at 0.25-0.42: accepted.
MAX_OUTSIDE_FRACTION = 0.30

MAX_INPUT_BYTES = 15 * 1024 * 1024
#: Decoded size cap (decompression bombs): 40 MP is well above any phone camera's output.
MAX_PIXELS = 40_000_000
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")

_KEY_LANDMARKS = np.r_[27:48, 48:68]  # nose, eyes, mouth

# --- errors -----------------------------------------------------------------------------------


class FaceError(Exception):
    """A photo that cannot be used; ``code`` is stable and machine-readable."""

    code: ClassVar[str] = "face_error"
    status: ClassVar[int] = 422
    message_zh: ClassVar[str] = "照片无法使用"
    message_en: ClassVar[str] = "The photo cannot be used"

    def __init__(self, detail: str | None = None, *, subject: str | None = None) -> None:
        self.detail = detail or self.message_en
        #: Which photo failed ("id_portrait", "selfie", a file name), set by two-photo callers.
        self.subject = subject
        super().__init__(self.detail)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "detail": self.detail,
            "message_zh": self.message_zh,
        }
        if self.subject is not None:
            out["subject"] = self.subject
        return out


class InvalidImage(FaceError):
    code = "invalid_image"
    status = 415
    message_zh = "文件不是可识别的图片（支持 JPEG、PNG、WebP）"
    message_en = "Not a readable image (JPEG, PNG or WebP)"


class ImageTooLarge(FaceError):
    code = "image_too_large"
    status = 413
    message_zh = "图片过大"
    message_en = "The image is too large"


class NoFace(FaceError):
    code = "no_face"
    message_zh = "未检测到人脸，请正对镜头并保持光线充足"
    message_en = "No face found: face the camera in good light"


class MultipleFaces(FaceError):
    code = "multiple_faces"
    message_zh = "检测到多张人脸，请确保画面中只有本人"
    message_en = "More than one face found: only you may be in the photo"


class FaceTooSmall(FaceError):
    code = "face_too_small"
    message_zh = "人脸过小，请靠近镜头"
    message_en = "The face is too small: move closer to the camera"


class FaceTooBlurry(FaceError):
    code = "face_too_blurry"
    message_zh = "人脸模糊，请保持手机稳定并对焦后重拍"
    message_en = "The face is blurred: hold the phone still and retake"


class FaceCutOff(FaceError):
    code = "face_cut_off"
    message_zh = "人脸不完整，请将整张脸置于画面内"
    message_en = "The face is cut off by the frame: keep the whole face in the picture"


ERROR_TYPES: tuple[type[FaceError], ...] = (
    InvalidImage,
    ImageTooLarge,
    NoFace,
    MultipleFaces,
    FaceTooSmall,
    FaceTooBlurry,
    FaceCutOff,
)

# --- data -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Box:
    """A detector box in working-image pixels (may extend past the image edges)."""

    top: int
    right: int
    bottom: int
    left: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def short_side(self) -> int:
        return min(self.width, self.height)

    def scaled(self, factor: float) -> Box:
        return Box(*(round(v * factor) for v in (self.top, self.right, self.bottom, self.left)))

    def clamped(self, height: int, width: int) -> Box:
        return Box(
            max(self.top, 0), min(self.right, width), min(self.bottom, height), max(self.left, 0)
        )

    def outside_fraction(self, height: int, width: int) -> float:
        area = self.width * self.height
        if area <= 0:
            return 1.0
        inner = self.clamped(height, width)
        return 1.0 - max(inner.width, 0) * max(inner.height, 0) / area

    def as_css(self) -> tuple[int, int, int, int]:
        return (self.top, self.right, self.bottom, self.left)


@dataclass(frozen=True, slots=True)
class FaceQuality:
    face_px: int
    sharpness: float
    outside_fraction: float
    yaw: float
    upsampled: bool


@dataclass(frozen=True, slots=True)
class FaceAnalysis:
    encoding: Encoding = field(repr=False)
    box: Box
    landmarks: npt.NDArray[np.float64] = field(repr=False)  # (68, 2) x, y
    quality: FaceQuality


@dataclass(frozen=True, slots=True)
class Verdict:
    match: bool
    distance: float
    threshold: float
    method: str = METHOD

    def to_dict(self) -> dict[str, Any]:
        return {
            "match": self.match,
            "distance": round(self.distance, 4),
            "threshold": self.threshold,
            "method": self.method,
        }


# --- dlib access ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Models:
    detector: Any
    landmarks5: Any
    landmarks68: Any
    encoder: Any


_local = threading.local()
_shared_lock = threading.Lock()
_shared: tuple[Any, Any] | None = None


def _shape_predictors() -> tuple[Any, Any]:
    """The 5- and 68-point predictors, loaded once (0.7 s, ~100 MB) and shared by all threads:
    dlib's ``shape_predictor::operator()`` is const and keeps its state in locals."""
    global _shared
    with _shared_lock:
        if _shared is None:
            import dlib

            folder = model_dir()
            _shared = (
                dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat")),
                dlib.shape_predictor(str(folder / "shape_predictor_68_face_landmarks.dat")),
            )
        return _shared


def _models() -> _Models:
    """This thread's dlib models, created on first use.

    dlib's HOG detector and its DNN are not thread-safe: two threads sharing face_recognition's
    module-level models got 113 "faces" out of one portrait and wrong encodings. So every worker
    thread of the face pool gets its own detector and encoder (~0.4 s to load); the landmark
    predictors are shared. The model files are those of face_recognition_models, which
    face_recognition itself loads; we use its defaults (HOG, 5-point alignment, no jitter).
    """
    models: _Models | None = getattr(_local, "models", None)
    if models is None:
        import dlib

        landmarks5, landmarks68 = _shape_predictors()
        models = _Models(
            detector=dlib.get_frontal_face_detector(),
            landmarks5=landmarks5,
            landmarks68=landmarks68,
            encoder=dlib.face_recognition_model_v1(
                str(model_dir() / "dlib_face_recognition_resnet_model_v1.dat")
            ),
        )
        _local.models = models
    return models


def model_dir() -> Path:
    """The model files shipped by the face_recognition_models package.

    Found without importing the package: its ``__init__`` imports ``pkg_resources``, which warns
    on setuptools 80 and is gone from setuptools 81.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the face_recognition_models package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def warm_up() -> None:
    """Load this thread's models and run each once (call in every pool worker at startup)."""
    blank = np.zeros((160, 160, 3), dtype=np.uint8)
    models = _models()
    models.detector(blank, 0)
    rect = _to_rect(Box(20, 140, 140, 20))
    models.landmarks68(blank, rect)
    models.encoder.compute_face_descriptor(blank, models.landmarks5(blank, rect), 1)


def _to_rect(box: Box) -> Any:
    import dlib

    return dlib.rectangle(box.left, box.top, box.right, box.bottom)


# --- images -----------------------------------------------------------------------------------


def load_image(data: bytes, *, max_side: int = WORK_MAX_SIDE) -> RGBImage:
    """Decode an uploaded photo into an RGB array, upright, long side at most ``max_side``.

    Raises :class:`InvalidImage` for anything that is not a JPEG/PNG/WebP image and
    :class:`ImageTooLarge` for oversized input or decompression bombs.
    """
    if len(data) > MAX_INPUT_BYTES:
        raise ImageTooLarge(f"{len(data)} bytes; at most {MAX_INPUT_BYTES} accepted")
    if not data:
        raise InvalidImage("empty upload")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im: Image.Image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
            width, height = im.size
            if width * height > MAX_PIXELS:
                raise ImageTooLarge(f"{width}x{height} pixels; at most {MAX_PIXELS} accepted")
            # JPEG decodes at 1/2, 1/4 or 1/8 scale almost for free (DCT scaling): take the
            # smallest such scale that keeps the long side >= 3/4 of max_side, which usually
            # also saves the resize (a 1600 px phone upload decodes straight to 800 px).
            scale = DRAFT_MIN_FRACTION * max_side / max(width, height)
            if scale < 1:
                im.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
            im.load()
            im = ImageOps.exif_transpose(im)
            if im.mode not in ("RGB", "L"):
                im = _flatten(im)
            im = im.convert("RGB")
            if max(im.size) > max_side:
                im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=2.0)
    except FaceError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge("decompression bomb refused") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InvalidImage(
            f"not a readable JPEG, PNG or WebP image ({type(exc).__name__})"
        ) from exc
    return np.asarray(im, dtype=np.uint8)


def _flatten(im: Image.Image) -> Image.Image:
    """Composite transparency over white so a transparent background does not turn black."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


def resize_max_side(image: RGBImage, max_side: int) -> tuple[RGBImage, float]:
    """Downscale so the long side is at most ``max_side``; returns the image and the factor."""
    height, width = image.shape[:2]
    long_side = max(height, width)
    if long_side <= max_side:
        return image, 1.0
    factor = max_side / long_side
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    small = Image.fromarray(image).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(small, dtype=np.uint8), factor


def _check_image(image: Any) -> RGBImage:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        raise InvalidImage("expected an RGB array of shape (height, width, 3)")
    if image.dtype != np.uint8:
        raise InvalidImage("expected uint8 pixels")
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise ImageTooLarge("frame too large")
    return np.ascontiguousarray(image)


# --- detection and measurements ---------------------------------------------------------------


def detect_faces(
    image: RGBImage, *, detect_max_side: int = DETECT_MAX_SIDE
) -> tuple[list[Box], bool]:
    """HOG detection; returns boxes in ``image`` pixels and whether upsampling was needed.

    Detects on a copy at most ``detect_max_side`` px long (~30 ms instead of ~90 ms at 1024 px);
    faces too small for that copy are looked for at full size, and only small images get one
    upsampling pass (which finds faces too small to accept, so the user hears "move closer"
    rather than "no face").
    """
    detector = _models().detector
    small, factor = resize_max_side(image, detect_max_side)
    rects = detector(small, 0)
    if len(rects) == 0 and factor < 1:
        small, factor = image, 1.0
        rects = detector(image, 0)
    upsampled = False
    if len(rects) == 0 and max(image.shape[:2]) <= SMALL_IMAGE_SIDE:
        rects = detector(image, 1)
        upsampled = True
    boxes = [
        Box(r.top(), r.right() + 1, r.bottom() + 1, r.left()).scaled(1 / factor) for r in rects
    ]
    return boxes, upsampled and bool(boxes)


def landmarks68(image: RGBImage, box: Box) -> npt.NDArray[np.float64]:
    """The 68 iBUG landmarks as an (68, 2) array of x, y."""
    shape = _models().landmarks68(image, _to_rect(box))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def encode(image: RGBImage, box: Box) -> Encoding:
    """128-d descriptor (5-point alignment, no jitter: face_recognition's defaults)."""
    models = _models()
    shape = models.landmarks5(image, _to_rect(box))
    return np.array(models.encoder.compute_face_descriptor(image, shape, 1), dtype=np.float64)


def laplacian_variance(grey: npt.NDArray[np.float64]) -> float:
    lap = grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1] - 4 * grey[1:-1, 1:-1]
    return float(lap.var())


def sharpness(image: RGBImage, box: Box) -> float:
    """Blur measure of the face, independent of its size in pixels."""
    height, width = image.shape[:2]
    inner = box.clamped(height, width)
    if inner.width < 3 or inner.height < 3:
        return 0.0
    crop = Image.fromarray(image[inner.top : inner.bottom, inner.left : inner.right]).convert("L")
    crop = crop.resize((_SHARPNESS_SIDE, _SHARPNESS_SIDE), Image.Resampling.BILINEAR)
    return laplacian_variance(np.asarray(crop, dtype=np.float64))


def yaw_ratio(landmarks: npt.NDArray[np.float64]) -> float:
    """Horizontal head turn in image terms, -1..1; 0 is frontal.

    Position of the nose tip (30) between the jaw-line ends (0 and 16), mapped to -1..1: negative
    when the nose points toward the image's left edge, positive toward its right edge. Who turned
    which way (the user's left or right) depends on mirroring: see ``identity.face.liveness``.
    """
    left_x, right_x = landmarks[0, 0], landmarks[16, 0]
    span = right_x - left_x
    if span <= 1e-6:
        return 0.0
    return float(np.clip(2 * (landmarks[30, 0] - left_x) / span - 1, -1.0, 1.0))


def analyse_face(
    image: RGBImage,
    *,
    min_face_px: int = MIN_FACE_PX,
    min_sharpness: float = BLUR_MIN_SHARPNESS,
    check_quality: bool = True,
) -> FaceAnalysis:
    """Find exactly one usable face and describe it.

    Raises, in this order: :class:`NoFace`, :class:`MultipleFaces`, :class:`FaceTooSmall`,
    :class:`FaceCutOff`, :class:`FaceTooBlurry` (the quality checks only with ``check_quality``).
    """
    image = _check_image(image)
    boxes, upsampled = detect_faces(image)
    if not boxes:
        raise NoFace()
    if len(boxes) > 1:
        raise MultipleFaces(f"{len(boxes)} faces found; exactly one is required")
    box = boxes[0]
    height, width = image.shape[:2]
    if check_quality and (upsampled or box.short_side < min_face_px):
        raise FaceTooSmall(f"face is {box.short_side} px; at least {min_face_px} px required")
    points = landmarks68(image, box)
    outside = box.outside_fraction(height, width)
    if check_quality:
        key = points[_KEY_LANDMARKS]
        key_outside = bool(
            np.any(key[:, 0] < 0)
            or np.any(key[:, 0] > width - 1)
            or np.any(key[:, 1] < 0)
            or np.any(key[:, 1] > height - 1)
        )
        if outside > MAX_OUTSIDE_FRACTION or key_outside:
            raise FaceCutOff(f"{outside:.0%} of the face is outside the picture")
    sharp = sharpness(image, box)
    if check_quality and sharp < min_sharpness:
        raise FaceTooBlurry(f"sharpness {sharp:.1f} below {min_sharpness}")
    quality = FaceQuality(
        face_px=box.short_side,
        sharpness=sharp,
        outside_fraction=outside,
        yaw=yaw_ratio(points),
        upsampled=upsampled,
    )
    return FaceAnalysis(encode(image, box), box, points, quality)


def analyse_photo(data: bytes, *, subject: str | None = None) -> FaceAnalysis:
    """:func:`load_image` + :func:`analyse_face`, tagging errors with ``subject``."""
    try:
        return analyse_face(load_image(data))
    except FaceError as exc:
        exc.subject = subject
        raise


# --- matching ---------------------------------------------------------------------------------


def _encoding_of(face: FaceAnalysis | npt.NDArray[Any]) -> Encoding:
    enc = face.encoding if isinstance(face, FaceAnalysis) else np.asarray(face, dtype=np.float64)
    if enc.shape != (128,):
        raise ValueError(f"expected a 128-d face encoding, got shape {enc.shape}")
    return enc


def face_distance(a: FaceAnalysis | npt.NDArray[Any], b: FaceAnalysis | npt.NDArray[Any]) -> float:
    return float(np.linalg.norm(_encoding_of(a) - _encoding_of(b)))


def compare(
    a: FaceAnalysis | npt.NDArray[Any],
    b: FaceAnalysis | npt.NDArray[Any],
    threshold: float = MATCH_THRESHOLD,
) -> Verdict:
    """Same person when the distance is at most ``threshold``."""
    distance = face_distance(a, b)
    return Verdict(match=distance <= threshold, distance=distance, threshold=threshold)


def verify(id_portrait: bytes, selfie: bytes, threshold: float = MATCH_THRESHOLD) -> Verdict:
    """Analyse both photos and compare them (blocking: run it in the face pool).

    Errors carry ``subject`` = ``"id_portrait"`` or ``"selfie"``.
    """
    reference = analyse_photo(id_portrait, subject="id_portrait")
    probe = analyse_photo(selfie, subject="selfie")
    return compare(reference, probe, threshold)
