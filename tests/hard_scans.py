"""A hard scan set, built at test time: jifen's own cards and EAN-13 goods as cameras see them.

Nothing here is a stored image: every frame is drawn from a seed, so the set is the same on
every machine and no photograph sits in the repository. Each frame is one code (a card QR made
by ``kiosk.cards.make_payload`` and drawn by ``qrcode`` as the card printer draws it, or an
EAN-13 drawn by ``tests.scan_images.ean13_image``) on a white card, laid on a grey counter,
held at an angle, and then made hard in one way:

perspective   the card tilted towards the camera (corners moved by up to 22 %)
motion        the card moving: a line blur of 7–13 px at a random angle
defocus       a webcam focused on the keeper: a disc blur of radius 2–3.5 px
glare         a ceiling lamp on a laminated card: a bright blob over part of the code
dark          a dim shop: 12–22 % brightness with sensor noise (σ 3–6 at that level)
jpeg          a tablet's cheap JPEG: quality 12–22
crumpled      a card kept in a pocket: a smooth random warp of up to 4 % of its size
screen        the code shown on a phone screen: a pixel grid the camera aliases (moiré)
small         the card far away: 9–12 % of the frame's height

each at 640×480, 1280×720 and 1920×1080 (the card takes the same share of the picture at
every size, as with one field of view). ``frames()`` yields them in a fixed order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.cards import make_payload
from tests.scan_images import SECRET, ean13_image, qr_image

SIZES = ((640, 480), (1280, 720), (1920, 1080))
CONDITIONS = (
    "perspective",
    "motion",
    "defocus",
    "glare",
    "dark",
    "jpeg",
    "crumpled",
    "screen",
    "small",
)
KINDS = ("qr", "ean13")


@dataclass(frozen=True)
class HardFrame:
    """One frame of the set and the code it holds."""

    name: str  # e.g. "1280x720/glare/qr"
    size: tuple[int, int]
    condition: str
    kind: str
    text: str
    image: np.ndarray  # grey uint8, H×W


def ean13(body: str) -> str:
    """The 13-digit code for a 12-digit body (its check digit added)."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _card(kind: str, text: str) -> np.ndarray:
    """The code at a generous resolution on a white card (float32, 0–255)."""
    if kind == "qr":
        symbol = qr_image(text, box=10)
    else:
        symbol = ean13_image(text, module=4, height=200, quiet=14)
    h, w = symbol.shape
    card = np.full((h + 60, w + 60), 245, np.float32)
    card[30 : 30 + h, 30 : 30 + w] = symbol
    return card


def _counter(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A grey counter top with a little texture and a lighting gradient."""
    w, h = size
    small = rng.normal(0, 12, (h // 16 + 1, w // 16 + 1)).astype(np.float32)
    texture = cv2.resize(small, (w, h))
    gradient = np.linspace(-15, 15, w, dtype=np.float32)[None, :]
    return texture + gradient + np.float32(115)


def _place(
    card: np.ndarray,
    size: tuple[int, int],
    height_share: float,
    rng: np.random.Generator,
    tilt: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The card drawn into the frame through a homography: the frame and the card's mask."""
    w, h = size
    ch, cw = card.shape
    target_h = height_share * h
    scale = target_h / ch
    tw, th = cw * scale, target_h
    cx = w / 2 + rng.uniform(-0.15, 0.15) * w
    cy = h / 2 + rng.uniform(-0.12, 0.12) * h
    angle = np.deg2rad(rng.uniform(-20, 20))
    corners = np.array([[-tw / 2, -th / 2], [tw / 2, -th / 2], [tw / 2, th / 2], [-tw / 2, th / 2]])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    quad = corners @ rot.T
    quad += rng.uniform(-tilt, tilt, quad.shape) * np.array([tw, th])
    quad += np.array([cx, cy])
    src = np.float32([[0, 0], [cw, 0], [cw, ch], [0, ch]])
    matrix = cv2.getPerspectiveTransform(src, np.float32(quad))
    warped = cv2.warpPerspective(card, matrix, (w, h), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.ones_like(card), matrix, (w, h), flags=cv2.INTER_LINEAR)
    return warped, mask


def _crumple(card: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """A smooth random displacement of the card, as a crumpled and flattened print."""
    h, w = card.shape
    grid = 5
    dx = cv2.resize(rng.uniform(-1, 1, (grid, grid)), (w, h), interpolation=cv2.INTER_CUBIC)
    dy = cv2.resize(rng.uniform(-1, 1, (grid, grid)), (w, h), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    map_x = (xx + dx * amount * w).astype(np.float32)
    map_y = (yy + dy * amount * h).astype(np.float32)
    warped = cv2.remap(card, map_x, map_y, cv2.INTER_LINEAR, borderValue=245)
    # Creases: a few faint lines of shade.
    for _ in range(3):
        p1 = (int(rng.uniform(0, w)), 0)
        p2 = (int(rng.uniform(0, w)), h)
        cv2.line(warped, p1, p2, float(rng.uniform(170, 210)), 2)
    return warped


def _screen(card: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The card shown on a phone: emissive, dark surround, a pixel grid that aliases."""
    h, w = card.shape
    pitch = rng.uniform(2.6, 3.4)
    yy, xx = np.mgrid[0:h, 0:w]
    grid = 0.7 + 0.3 * (np.cos(2 * np.pi * xx / pitch) * np.cos(2 * np.pi * yy / pitch) > 0)
    lit = card * grid
    framed = np.full((h + 80, w + 80), 25, np.float32)  # the phone's black bezel
    framed[40 : 40 + h, 40 : 40 + w] = lit
    return framed


_NOISE: list[np.ndarray] = []


def _noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Gaussian noise of ``sigma``: a window of one fixed field at an offset drawn from ``rng``
    (drawing a fresh 1080p field per frame took most of the set's time)."""
    if not _NOISE:
        field = np.random.default_rng(1818).standard_normal((1080 + 97, 1920 + 89), np.float32)
        _NOISE.append(field)
    field = _NOISE[0]
    h, w = shape
    y = int(rng.integers(0, field.shape[0] - h + 1))
    x = int(rng.integers(0, field.shape[1] - w + 1))
    return field[y : y + h, x : x + w] * np.float32(sigma)


def _motion(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = int(rng.integers(7, 14))
    kernel = np.zeros((n, n), np.float32)
    kernel[n // 2, :] = 1
    m = cv2.getRotationMatrix2D(((n - 1) / 2, (n - 1) / 2), float(rng.uniform(0, 180)), 1)
    kernel = cv2.warpAffine(kernel, m, (n, n))
    return cv2.filter2D(img, -1, kernel / kernel.sum())


def _defocus(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    r = float(rng.uniform(2.0, 3.5))
    n = int(np.ceil(r)) * 2 + 1
    yy, xx = np.mgrid[0:n, 0:n] - n // 2
    kernel = (xx**2 + yy**2 <= r * r).astype(np.float32)
    return cv2.filter2D(img, -1, kernel / kernel.sum())


def _glare(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape
    ys, xs = np.nonzero(mask > 0.5)
    cy = float(rng.uniform(ys.min(), ys.max()))
    cx = float(rng.uniform(xs.min(), xs.max()))
    sigma = 0.18 * (ys.max() - ys.min())
    gx = np.exp(-((np.arange(w, dtype=np.float32) - cx) ** 2) / (2 * sigma**2))
    gy = np.exp(-((np.arange(h, dtype=np.float32) - cy) ** 2) / (2 * sigma**2))
    return img + np.float32(rng.uniform(150, 220)) * np.outer(gy, gx)


def _dark(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    level = rng.uniform(0.12, 0.22)
    return img * np.float32(level) + _noise(rng, img.shape, rng.uniform(3, 6))


def _jpeg(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    quality = int(rng.integers(12, 23))
    grey = np.clip(img, 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE).astype(np.float32)


def render(kind: str, text: str, size: tuple[int, int], condition: str, seed: int) -> np.ndarray:
    """One hard frame, grey uint8 — the same for the same arguments on every machine."""
    rng = np.random.default_rng(seed)
    card = _card(kind, text)
    share = 0.42 if kind == "qr" else 0.30  # a QR card's code is squarer than a label
    tilt = 0.04
    if condition == "small":
        share = rng.uniform(0.09, 0.12) if kind == "qr" else rng.uniform(0.08, 0.10)
    elif condition == "perspective":
        tilt = 0.22
    elif condition == "crumpled":
        card = _crumple(card, rng, 0.04)
    elif condition == "screen":
        card = _screen(card, rng)
    warped, mask = _place(card, size, share, rng, tilt)
    counter = _counter(size, rng)
    frame = counter + (warped - counter) * mask
    if condition == "motion":
        frame = _motion(frame, rng)
    elif condition == "defocus":
        frame = _defocus(frame, rng)
    elif condition == "glare":
        frame = _glare(frame, mask, rng)
    elif condition == "dark":
        frame = _dark(frame, rng)
    frame = frame + _noise(rng, frame.shape, 2.0)  # every camera's own noise
    if condition == "jpeg":
        frame = _jpeg(frame, rng)
    return cv2.convertScaleAbs(np.clip(frame, 0, 255))


def frames(per_cell: int = 1) -> Iterator[HardFrame]:
    """The set: ``per_cell`` frames per size × condition × kind, in a fixed order."""
    seed = 18_000
    for size in SIZES:
        for condition in CONDITIONS:
            for kind in KINDS:
                for i in range(per_cell):
                    seed += 1
                    if kind == "qr":
                        text = make_payload(100 + seed % 900, 1 + i, secret=SECRET)
                    else:
                        text = ean13(f"69{seed % 10**10:010d}")
                    yield HardFrame(
                        f"{size[0]}x{size[1]}/{condition}/{kind}/{i}",
                        size,
                        condition,
                        kind,
                        text,
                        render(kind, text, size, condition, seed),
                    )
