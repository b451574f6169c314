"""A still portrait that blinks and turns its head in front of a shaky camera: the frames a
phone would send to answer a liveness challenge. The liveness tests use it (see
tests/identity/test_liveness.py for how the synthesis compares with real video) and so does the
scripted demo, which has no camera.

A head turn is a 2.5-D warp that moves each pixel sideways by depth x sin(angle) (an ellipsoid head
plus a nose bump); a blink pulls the skin above each upper eyelid down over the eye and draws a
lash line; the hand-held camera is sub-pixel shifts and sensor noise on every frame.
"""

from __future__ import annotations

import numpy as np

from identity.face import engine
from identity.face.liveness import Action

Frames = list[np.ndarray]


def _sample(image: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Bilinear sampling of ``image`` at float coordinates."""
    h, w = image.shape[:2]
    xs = np.clip(xs, 0, w - 1.001)
    ys = np.clip(ys, 0, h - 1.001)
    x0 = np.floor(xs).astype(int)
    y0 = np.floor(ys).astype(int)
    fx = (xs - x0)[..., None]
    fy = (ys - y0)[..., None]
    im = image.astype(np.float32)
    top = im[y0, x0] * (1 - fx) + im[y0, x0 + 1] * fx
    bottom = im[y0 + 1, x0] * (1 - fx) + im[y0 + 1, x0 + 1] * fx
    out: np.ndarray = np.clip(top * (1 - fy) + bottom * fy + 0.5, 0, 255).astype(np.uint8)
    return out


def turn_head(image: np.ndarray, lm: np.ndarray, degrees: float) -> np.ndarray:
    """Synthetic yaw: positive moves the nose toward the image's right (the user's left)."""
    h, w = image.shape[:2]
    cx, cy = (lm[0, 0] + lm[16, 0]) / 2, lm[29, 1]
    a = (lm[16, 0] - lm[0, 0]) / 2 * 1.15
    b = (lm[8, 1] - min(lm[19, 1], lm[24, 1])) * 0.75
    nx, ny = lm[30]
    s = np.sin(np.radians(degrees))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)

    def shift(x: np.ndarray) -> np.ndarray:
        r2 = ((x - cx) / a) ** 2 + ((yy - cy) / b) ** 2
        depth = 0.55 * a * np.clip(1 - r2, 0, None) ** 1.5
        depth += 0.22 * a * np.exp(-((x - nx) ** 2 + 0.5 * (yy - ny) ** 2) / (2 * (0.14 * a) ** 2))
        shifted: np.ndarray = depth * s
        return shifted

    xs = xx.copy()
    for _ in range(8):  # invert x' = x + shift(x) by fixed-point iteration
        xs = xx - shift(xs)
    return _sample(image, xs, yy)


def close_eyes(image: np.ndarray, lm: np.ndarray, closure: float) -> np.ndarray:
    """Synthetic blink: 0 open, 1 closed."""
    out = image.copy()
    if closure <= 0:
        return out
    for first in (36, 42):
        p = lm[first : first + 6]
        x_l, x_r = p[0, 0], p[3, 0]
        ew = x_r - x_l
        x0, x1 = int(np.floor(x_l - 0.2 * ew)), int(np.ceil(x_r + 0.2 * ew))
        top = int(np.floor(min(p[1, 1], p[2, 1]) - 0.45 * ew))
        cols = np.arange(x0, x1 + 1, dtype=np.float32)
        upper = np.interp(cols, [x_l, p[1, 0], p[2, 0], x_r], [p[0, 1], p[1, 1], p[2, 1], p[3, 1]])
        lower = np.interp(cols, [x_l, p[5, 0], p[4, 0], x_r], [p[0, 1], p[5, 1], p[4, 1], p[3, 1]])
        taper = np.clip(1 - np.abs((cols - (x_l + x_r) / 2) / (0.62 * ew)) ** 4, 0, 1)
        lid = upper + closure * taper * (lower - 0.05 * (lower - upper) - upper)
        bottom = int(np.ceil(lower.max() + 2))
        ys = np.arange(top, bottom + 1, dtype=np.float32)[:, None]
        src = np.where(
            ys <= lid,
            top + (ys - top) * (upper - top) / np.maximum(lid - top, 1e-3),
            upper + (ys - lid) * (lower - upper) / np.maximum(lower - lid, 1e-3),
        )
        src = np.where(ys > lower, ys, src)
        patch = _sample(image, np.broadcast_to(cols, src.shape), src)
        if closure > 0.6:
            lash = (np.abs(ys - lid) < 1.2) & (taper > 0.1)
            patch[lash] = (patch[lash] * 0.45).astype(np.uint8)
        out[top : bottom + 1, x0 : x1 + 1] = patch
    return out


def handheld(image: np.ndarray, rng: np.random.Generator, *, shake: int = 2) -> np.ndarray:
    """One camera frame of ``image``: a small shake (whole pixels) and sensor noise."""
    dy, dx = rng.integers(-shake, shake + 1, 2)
    moved = np.roll(image, (int(dy), int(dx)), axis=(0, 1)).astype(np.int16)
    noise = rng.integers(-3, 4, image.shape, dtype=np.int16)
    frame: np.ndarray = np.clip(moved + noise, 0, 255).astype(np.uint8)
    return frame


class Actor:
    """A still portrait that can blink and turn (synthetically) in front of a shaky camera."""

    def __init__(self, image: np.ndarray, seed: int = 0) -> None:
        self.image = image
        face = engine.analyse_face(image)
        self.landmarks = face.landmarks
        self.box = face.box
        self.rng = np.random.default_rng(seed)
        self._poses: dict[tuple[str, float], np.ndarray] = {}

    def pose(self, kind: str, amount: float) -> np.ndarray:
        """The portrait with eyes closed by ``amount`` or the head turned by ``amount`` degrees."""
        key = (kind, amount)
        if key not in self._poses:
            change = close_eyes if kind == "blink" else turn_head
            self._poses[key] = change(self.image, self.landmarks, amount)
        return self._poses[key]

    def prepare(self) -> None:
        """Render every pose up front: the warps are the slow part, and a liveness challenge
        must be answered within 60 s of being issued."""
        for closure in (0.5, 1.0):
            self.pose("blink", closure)
        for sign in (1, -1):
            for degrees in (10, 20, 30, 35, 15):
                self.pose("turn", sign * degrees)

    def neutral(self, n: int) -> Frames:
        return [handheld(self.image, self.rng) for _ in range(n)]

    def blink(self) -> Frames:
        return [handheld(self.pose("blink", c), self.rng) for c in (0.5, 1.0, 1.0, 0.5)]

    def turn(self, to_image_right: bool) -> Frames:
        sign = 1 if to_image_right else -1
        return [handheld(self.pose("turn", sign * d), self.rng) for d in (10, 20, 30, 35, 30, 15)]

    def act(self, action: Action, *, mirrored: bool = False) -> Frames:
        if action is Action.BLINK:
            return self.blink()
        if action is Action.OPEN_MOUTH:
            raise NotImplementedError("mouth opening is tested on the real clip")
        # unmirrored: the user's left is the image's right
        return self.turn((action is Action.TURN_LEFT) != mirrored)

    def perform(self, *actions: Action, mirrored: bool = False) -> Frames:
        frames = self.neutral(3)
        for action in actions:
            frames += self.act(action, mirrored=mirrored) + self.neutral(3)
        return frames
