"""Digit-like 28x28 grayscale images (MNIST / Kaggle "digit-recognizer" shaped).

Files: X_train.npy (n, 784) uint8, y_train.npy (n,) int64, X_test.npy (m, 784) uint8.
Each class is a set of strokes rendered with random slant, thickness, scale and shift.
"""

from __future__ import annotations

import os

import numpy as np

from .common import rng, save_npy

SEED = 784
ROWS = {"small": (1200, 300), "medium": (30_000, 5_000), "large": (600_000, 60_000)}

# strokes as polylines in a unit box (x right, y down)
def _arc(cx, cy, rx, ry, a0, a1, k=14):
    a = np.linspace(np.radians(a0), np.radians(a1), k)
    return np.c_[cx + rx * np.cos(a), cy + ry * np.sin(a)]


STROKES = {
    0: [_arc(0.5, 0.5, 0.28, 0.4, 0, 360, 28)],
    1: [np.array([[0.38, 0.25], [0.55, 0.1], [0.55, 0.9]])],
    2: [_arc(0.5, 0.3, 0.25, 0.2, 200, 380), np.array([[0.74, 0.36], [0.25, 0.9], [0.78, 0.9]])],
    3: [_arc(0.48, 0.3, 0.24, 0.2, 200, 450), _arc(0.48, 0.7, 0.26, 0.2, 270, 520)],
    4: [np.array([[0.6, 0.1], [0.2, 0.62], [0.8, 0.62]]), np.array([[0.62, 0.35], [0.62, 0.92]])],
    5: [np.array([[0.75, 0.1], [0.3, 0.1], [0.27, 0.45]]), _arc(0.48, 0.66, 0.27, 0.24, 230, 500)],
    6: [np.array([[0.65, 0.08], [0.3, 0.5]]), _arc(0.5, 0.68, 0.24, 0.22, 0, 360, 24)],
    7: [np.array([[0.22, 0.12], [0.78, 0.12], [0.42, 0.92]]), np.array([[0.4, 0.5], [0.68, 0.5]])],
    8: [_arc(0.5, 0.3, 0.2, 0.19, 0, 360, 22), _arc(0.5, 0.7, 0.25, 0.21, 0, 360, 22)],
    9: [_arc(0.5, 0.32, 0.24, 0.22, 0, 360, 24), np.array([[0.73, 0.35], [0.62, 0.92]])],
}

CANVAS = 28
PAD = 4


def _render(strokes, slant, sx, sy, thick, wobble, r) -> np.ndarray:
    yy, xx = np.mgrid[0:CANVAS, 0:CANVAS] + 0.5
    img = np.zeros((CANVAS, CANVAS))
    for poly in strokes:
        p = poly.copy()
        p += r.normal(0, wobble, p.shape)
        p[:, 0] = 0.5 + (p[:, 0] - 0.5) * sx + slant * (0.5 - p[:, 1])
        p[:, 1] = 0.5 + (p[:, 1] - 0.5) * sy
        p = 4 + p * 20
        a, b = p[:-1], p[1:]
        ab = b - a
        denom = np.maximum((ab ** 2).sum(1), 1e-9)
        px = xx[..., None] - a[:, 0]
        py = yy[..., None] - a[:, 1]
        t = np.clip((px * ab[:, 0] + py * ab[:, 1]) / denom, 0, 1)
        dx = px - t * ab[:, 0]
        dy = py - t * ab[:, 1]
        d = np.sqrt(dx ** 2 + dy ** 2).min(-1)
        img = np.maximum(img, np.clip(thick + 0.5 - d, 0, 1))
    return img


def _bank(r, per_class: int):
    """Pre-rendered variants, padded so random shifts are cheap gathers."""
    bank = np.zeros((10, per_class, CANVAS + 2 * PAD, CANVAS + 2 * PAD), dtype=np.float32)
    for c in range(10):
        for v in range(per_class):
            img = _render(STROKES[c], r.normal(0, 0.18), r.uniform(0.75, 1.15), r.uniform(0.85, 1.1),
                          r.uniform(0.7, 1.8), 0.025, r)
            bank[c, v, PAD:PAD + CANVAS, PAD:PAD + CANVAS] = img
    return bank


def _sample(r, bank, n: int):
    y = r.integers(0, 10, n)
    v = r.integers(0, bank.shape[1], n)
    dy = r.integers(-3, 4, n) + PAD
    dx = r.integers(-3, 4, n) + PAD
    ar = np.arange(CANVAS)
    imgs = bank[y[:, None, None], v[:, None, None], dy[:, None, None] + ar[None, :, None], dx[:, None, None] + ar[None, None, :]]
    imgs = imgs * r.uniform(0.75, 1.0, (n, 1, 1)).astype(np.float32)
    imgs += r.normal(0, 0.06, imgs.shape).astype(np.float32) * (imgs > 0.05)
    speck = r.random(imgs.shape, dtype=np.float32) < 0.004
    imgs = np.where(speck, r.random(imgs.shape, dtype=np.float32), imgs)
    out = np.clip(imgs * 255.0, 0, 255).astype(np.uint8).reshape(n, CANVAS * CANVAS)
    return out, y.astype(np.int64)


def generate(size: str, out: str) -> list[str]:
    n_train, n_test = ROWS[size]
    bank = _bank(rng(SEED, 0), 60)
    for name, n, key in (("train", n_train, 1), ("test", n_test, 2)):
        X = np.empty((n, CANVAS * CANVAS), dtype=np.uint8)
        y = np.empty(n, dtype=np.int64)
        step = 20_000
        for i, s in enumerate(range(0, n, step)):
            k = min(step, n - s)
            X[s:s + k], y[s:s + k] = _sample(rng(SEED, key, i), bank, k)
        save_npy(os.path.join(out, f"X_{name}.npy"), X)
        if name == "train":
            save_npy(os.path.join(out, "y_train.npy"), y)
        else:
            save_npy(os.path.join(out, "y_test_hidden.npy"), y)
    return ["X_train.npy", "y_train.npy", "X_test.npy", "y_test_hidden.npy"]
