"""Images for the scanner tests: real card QR codes and EAN-13 barcodes, then made worse.

The card QR is drawn by ``qrcode`` from a real payload (``kiosk.cards.make_payload`` with a
fixed secret); the EAN-13 by the small renderer below (the standard's L/G/R patterns), so no
decoder under test also draws what it reads.
"""

from __future__ import annotations

import cv2
import numpy as np
import qrcode

from kiosk.cards import make_payload

SECRET = b"test-card-secret"  # the test config's JIFEN_CARD_SECRET
PAYLOAD = make_payload(101, 1, secret=SECRET)
EAN = "6901234567892"
BACKGROUND = 110  # a grey counter top around the white card

_L = ["0001101", "0011001", "0010011", "0111101", "0100011",
      "0110001", "0101111", "0111011", "0110111", "0001011"]  # fmt: skip
_G = ["0100111", "0110011", "0011011", "0100001", "0011101",
      "0111001", "0000101", "0010001", "0001001", "0010111"]  # fmt: skip
_R = ["1110010", "1100110", "1101100", "1000010", "1011100",
      "1001110", "1010000", "1000100", "1001000", "1110100"]  # fmt: skip
_PARITY = ["LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG",
           "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL"]  # fmt: skip


def ean13_modules(code: str) -> str:
    """The 95 modules (1 = bar) of an EAN-13 code."""
    digits = [int(c) for c in code]
    bits = "101"
    for i, parity in enumerate(_PARITY[digits[0]]):
        bits += (_L if parity == "L" else _G)[digits[i + 1]]
    bits += "01010"
    for d in digits[7:]:
        bits += _R[d]
    return bits + "101"


def ean13_image(code: str = EAN, module: int = 3, height: int = 120, quiet: int = 12) -> np.ndarray:
    """A grey EAN-13 barcode image, ``module`` pixels per module, with quiet zones."""
    row = np.array([0 if b == "1" else 255 for b in ean13_modules(code)], np.uint8)
    margin = np.full(quiet, 255, np.uint8)
    row = np.concatenate([margin, row, margin])
    return np.repeat(np.tile(row, (height, 1)), module, axis=1)


def qr_image(text: str = PAYLOAD, box: int = 6) -> np.ndarray:
    """A grey QR code of ``text`` as the card printer draws it."""
    qr = qrcode.QRCode(border=4, box_size=box, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(text)
    qr.make(fit=True)
    return np.array(qr.make_image().convert("L"), dtype=np.uint8)


def scene(symbol: np.ndarray | None, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A 640×480 camera frame: the symbol on a white card in the middle of a grey counter."""
    w, h = size
    canvas = np.full((h, w), BACKGROUND, np.uint8)
    if symbol is None:
        return canvas
    sh, sw = symbol.shape
    y, x = (h - sh) // 2, (w - sw) // 2
    canvas[y - 10 : y + sh + 10, x - 10 : x + sw + 10] = 240
    canvas[y : y + sh, x : x + sw] = symbol
    return canvas


def rotate(img: np.ndarray, degrees: float) -> np.ndarray:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(img, m, (w, h), borderValue=BACKGROUND)


def rot90(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.rot90(img))


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigma)


def perspective(img: np.ndarray) -> np.ndarray:
    """The card held tilted towards the camera."""
    h, w = img.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[w * 0.12, h * 0.08], [w * 0.9, 0], [w, h], [w * 0.05, h * 0.85]])
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(img, m, (w, h), borderValue=BACKGROUND)


def dim(img: np.ndarray, factor: float) -> np.ndarray:
    return (img.astype(np.float32) * factor).astype(np.uint8)


def glare(img: np.ndarray, cx: float = 0.55, cy: float = 0.55, radius: float = 0.12) -> np.ndarray:
    """A bright reflection blob (a ceiling lamp on a laminated card) over part of the code."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    sigma = radius * min(w, h)
    blob = 200.0 * np.exp(-((xx - cx * w) ** 2 + (yy - cy * h) ** 2) / (2 * sigma**2))
    return np.clip(img.astype(np.float32) + blob, 0, 255).astype(np.uint8)


def card_frame() -> np.ndarray:
    """A clean 640×480 grey frame with the card's QR in the middle."""
    return scene(qr_image())


def jpeg(img: np.ndarray, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def write_card_video(path: str, fps: int = 20) -> str:
    """blank 0.5 s, the card 0.6 s, blank 0.5 s at ``fps``: 640×480 BGR, MJPG in AVI."""
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), fps, (640, 480))
    assert writer.isOpened()
    blank = cv2.cvtColor(scene(None), cv2.COLOR_GRAY2BGR)
    card = cv2.cvtColor(card_frame(), cv2.COLOR_GRAY2BGR)
    for frame in [blank] * 10 + [card] * 12 + [blank] * 10:
        writer.write(frame)
    writer.release()
    return path
