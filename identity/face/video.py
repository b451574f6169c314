"""Decode an uploaded liveness clip into frames for :func:`identity.face.liveness.check_liveness`.

Uses PyAV (FFmpeg). Decoding is bounded in duration, frame count and resolution, so a hostile file
cannot make the server decode for minutes. Blocking: run it in the face pool.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from identity.face import engine, liveness
from identity.face.engine import FaceError, RGBImage

MAX_CLIP_BYTES = 20 * 1024 * 1024
MAX_CLIP_SECONDS = 6.0
#: Frames kept per second of video: enough to see a blink (100-400 ms).
SAMPLE_FPS = 10.0
MAX_DECODED_FRAMES = 600


class InvalidClip(FaceError):
    code = "invalid_clip"
    status = 415
    message_zh = "视频无法识别，请重新录制"
    message_en = "The video cannot be read: record it again"


class ClipTooLong(FaceError):
    code = "clip_too_long"
    status = 413
    message_zh = "视频过长或过大"
    message_en = "The video is too long or too large"


def decode_clip(
    data: bytes,
    *,
    sample_fps: float = SAMPLE_FPS,
    max_frames: int = liveness.MAX_FRAMES,
    max_seconds: float = MAX_CLIP_SECONDS,
    max_side: int = liveness.PROCESS_MAX_SIDE,
) -> list[RGBImage]:
    """Frames at about ``sample_fps``, downscaled to ``max_side``, honouring rotation metadata.

    Raises :class:`InvalidClip` for anything FFmpeg cannot decode and :class:`ClipTooLong` past
    ``max_seconds`` or ``max_frames``.
    """
    if len(data) > MAX_CLIP_BYTES:
        raise ClipTooLong(f"{len(data)} bytes; at most {MAX_CLIP_BYTES}")
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av is a declared dependency
        raise RuntimeError("PyAV (av) is required to decode liveness clips") from exc

    frames: list[RGBImage] = []
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise InvalidClip("no video stream")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            if max(width, height) > liveness.MAX_FRAME_SIDE:
                raise InvalidClip(f"{width}x{height} is above {liveness.MAX_FRAME_SIDE} px")
            next_t = 0.0
            first_t: float | None = None
            decoded = 0
            for frame in container.decode(stream):
                decoded += 1
                if decoded > MAX_DECODED_FRAMES:
                    raise ClipTooLong(f"more than {MAX_DECODED_FRAMES} frames")
                t = _seconds(frame)
                if t is None:
                    t = (decoded - 1) / sample_fps
                if first_t is None:
                    first_t = next_t = t
                if t < next_t - 1e-6:
                    continue
                if t - first_t > max_seconds:
                    raise ClipTooLong(f"longer than {max_seconds:g} s")
                if len(frames) >= max_frames:
                    raise ClipTooLong(f"more than {max_frames} frames at {sample_fps:g} fps")
                next_t = t + 1 / sample_fps
                frames.append(_to_rgb(frame, max_side))
    except FaceError:
        raise
    except Exception as exc:  # PyAV raises many FFmpeg error types
        if type(exc).__module__.startswith("av"):
            raise InvalidClip(f"cannot decode the video ({type(exc).__name__})") from exc
        raise
    if not frames:
        raise InvalidClip("no frames")
    return frames


def _seconds(frame: Any) -> float | None:
    if frame.pts is None or frame.time_base is None:
        return None
    return float(frame.pts * frame.time_base)


def _to_rgb(frame: Any, max_side: int) -> RGBImage:
    rotation = getattr(frame, "rotation", 0) or 0
    image = frame.to_ndarray(format="rgb24")
    if rotation % 360:
        # display-matrix rotation (phones record portrait video as rotated landscape)
        image = np.ascontiguousarray(np.rot90(image, k=round(rotation / 90) % 4))
    small, _ = engine.resize_max_side(image, max_side)
    return np.ascontiguousarray(small)
