"""Decoder benchmark: frames per second on 640×480 grey frames with and without a card.

    python bench/decoders.py [--seconds 1.5] [--no-write]

For each decoder in :mod:`hardware.decoders` it times jifen's ``decode(frame, name)`` and, in
the same run on the same frames, the raw library call it wraps (``zxingcpp.read_barcodes``,
``pyzbar.decode``, ``cv2.QRCodeDetector().detectAndDecode``), so the wrapper's cost is a
ratio, not a guess. The frames with a card are a real card QR (and an EAN-13) clean, rotated,
blurred, tilted, dimmed and glared; the decode rate counts frames whose code came back right.
The order of ``hardware.decoders.PREFERENCE`` follows these results; they go to
docs/decoders.md (``--no-write`` to only print).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from hardware import decoders  # noqa: E402
from tests.scan_images import (  # noqa: E402
    EAN,
    PAYLOAD,
    blur,
    dim,
    ean13_image,
    glare,
    perspective,
    qr_image,
    rot90,
    rotate,
    scene,
)


def card_frames() -> list[tuple[np.ndarray, str]]:
    """Frames with a code in them, and the text each should give."""
    out = []
    for symbol, text in ((scene(qr_image()), PAYLOAD), (scene(ean13_image()), EAN)):
        sharp_blur = 2.0 if text == PAYLOAD else 1.2
        for transform in (
            lambda i: i,
            lambda i: rotate(i, 15),
            rot90,
            lambda i, s=sharp_blur: blur(i, s),
            perspective,
            lambda i: dim(i, 0.3),
            glare,
        ):
            out.append((transform(symbol), text))
    # Small and off-centre, as when the resident holds the card far away.
    small = cv2.resize(qr_image(box=3), None, fx=1, fy=1)
    frame = scene(None)
    frame[40 : 40 + small.shape[0], 60 : 60 + small.shape[1]] = small
    out.append((frame, PAYLOAD))
    return out


def empty_frames(n: int = 10) -> list[np.ndarray]:
    """Frames of a counter with no code: blank, noise and clutter."""
    rng = np.random.default_rng(42)
    out = [scene(None)]
    for _ in range(n - 1):
        noise = rng.normal(120, 40, (480, 640)).clip(0, 255).astype(np.uint8)
        frame = cv2.GaussianBlur(noise, (0, 0), float(rng.uniform(1, 4)))
        for _ in range(8):
            x, y = int(rng.integers(0, 560)), int(rng.integers(0, 400))
            w, h = int(rng.integers(20, 160)), int(rng.integers(20, 120))
            cv2.rectangle(frame, (x, y), (x + w, y + h), int(rng.integers(0, 255)), -1)
        out.append(frame)
    return out


def raw_calls() -> dict[str, Callable[[np.ndarray], object]]:
    """The bare library calls each decoder wraps, with the same formats."""
    calls: dict[str, Callable[[np.ndarray], object]] = {}
    if "zxingcpp" in decoders.available_decoders():
        import zxingcpp

        formats = zxingcpp.barcode_formats_from_str("QRCode,EAN13,EAN8,UPCA,UPCE,Code128")
        calls["zxingcpp"] = lambda g: zxingcpp.read_barcodes(g, formats=formats)
    if "pyzbar" in decoders.available_decoders():
        from pyzbar import pyzbar

        symbols = [getattr(pyzbar.ZBarSymbol, n) for n in decoders._PYZBAR_KINDS]
        calls["pyzbar"] = lambda g: pyzbar.decode(g, symbols=symbols)
    detector = cv2.QRCodeDetector()
    calls["opencv"] = lambda g: detector.detectAndDecode(g)
    return calls


def fps(fn: Callable[[np.ndarray], object], frames: list[np.ndarray], seconds: float) -> float:
    """Frames per second of ``fn`` cycling over ``frames`` for about ``seconds``."""
    fn(frames[0])  # warm up
    n = 0
    start = time.perf_counter()
    while True:
        for f in frames:
            fn(f)
        n += len(frames)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def paired_fps(
    wrapped: Callable[[np.ndarray], object],
    raw: Callable[[np.ndarray], object],
    frames: list[np.ndarray],
    seconds: float,
    rounds: int = 5,
) -> tuple[float, float]:
    """Best-of-``rounds`` fps of the wrapper and the raw call, timed in alternation so that
    load from other processes hits both alike."""
    best_w = best_r = 0.0
    for _ in range(rounds):
        best_w = max(best_w, fps(wrapped, frames, seconds / rounds))
        best_r = max(best_r, fps(raw, frames, seconds / rounds))
    return best_w, best_r


def run(seconds: float) -> list[dict[str, object]]:
    cards = card_frames()
    card_images = [f for f, _ in cards]
    qr_cards = [(f, t) for f, t in cards if t == PAYLOAD]
    empties = empty_frames()
    raw = raw_calls()
    rows = []
    for name in decoders.available_decoders():
        wrapped = decoders.get_decoder(name).decode
        read = sum(any(d.text == t for d in wrapped(f)) for f, t in cards)
        read_qr = sum(any(d.text == t for d in wrapped(f)) for f, t in qr_cards)
        false = sum(bool(wrapped(f)) for f in empties)
        card_fps, card_fps_raw = paired_fps(wrapped, raw[name], card_images, seconds)
        empty_fps, empty_fps_raw = paired_fps(wrapped, raw[name], empties, seconds)
        rows.append(
            {
                "decoder": name,
                "card_fps": card_fps,
                "card_fps_raw": card_fps_raw,
                "empty_fps": empty_fps,
                "empty_fps_raw": empty_fps_raw,
                "read": read,
                "read_qr": read_qr,
                "cards": len(cards),
                "qr_cards": len(qr_cards),
                "false": false,
            }
        )
    return rows


def choose(rows: list[dict[str, object]]) -> list[str]:
    """Best decode rate first, then speed on frames with a card."""
    return [
        r["decoder"]
        for r in sorted(rows, key=lambda r: (-r["read"], -r["card_fps"]))  # type: ignore[operator]
    ]


def report(rows: list[dict[str, object]], order: list[str], seconds: float) -> str:
    lines = [
        "# Decoder benchmark",
        "",
        f"`python bench/decoders.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, OpenCV {cv2.__version__}; "
        f"{seconds:g} s per figure (best of 5 rounds, wrapper and raw call alternating), "
        "one thread.",
        "",
        "640×480 greyscale frames. *With a card*: a real card QR (payload from "
        "`kiosk.cards.make_payload`) and a product EAN-13, each clean, rotated 15° and 90°, "
        "Gaussian-blurred, perspective-warped, dimmed to 30 % and with a glare blob, plus a "
        "small off-centre QR (15 frames; 8 QR). *Without*: a blank counter and nine frames of "
        "noise and clutter. *raw* is the bare library call on the same frames in the same run; "
        "the wrapper adds result normalisation. On this shared machine figures vary by about "
        "±20 % between runs; a wrapper faster than its raw call is that noise.",
        "",
        "| decoder | with card fps (raw) | without card fps (raw) | read / 15 | QR read / 8 "
        "| false reads / 10 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['decoder']} | {r['card_fps']:.0f} ({r['card_fps_raw']:.0f}) "
            f"| {r['empty_fps']:.0f} ({r['empty_fps_raw']:.0f}) | {r['read']} | {r['read_qr']} "
            f"| {r['false']} |"
        )
    best = rows[[r["decoder"] for r in rows].index(order[0])]
    lines += [
        "",
        f"**Default: {order[0]}** (order of preference: {', '.join(order)}). Chosen on decode "
        f"rate first and then speed: {order[0]} read {best['read']} of {best['cards']} frames "
        f"at {best['card_fps']:.0f} frames/s with a card. A worker decoding 5 frames/s uses "
        "a small fraction of one core with any of them, so a frame missed matters more than a "
        "millisecond saved. OpenCV's QRCodeDetector reads no EAN-13, so it cannot be the only "
        "decoder at a counter that also scans goods. pyzbar needs libzbar0; without it "
        "`hardware.decoders` falls back to the next usable decoder. Set `JIFEN_DECODER` (or "
        '`JIFEN_CAMERA["decoder"]`) to override.',
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows = run(args.seconds)
    order = choose(rows)
    text = report(rows, order, args.seconds)
    print(text)
    if tuple(order) != decoders.PREFERENCE:
        print(f"NOTE: hardware.decoders.PREFERENCE is {decoders.PREFERENCE}, bench says {order}")
    if not args.no_write:
        with open(os.path.join(ROOT, "docs", "decoders.md"), "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
