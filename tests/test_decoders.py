"""Real decoders on real card and product images: clean, rotated, blurred, tilted, dim, glared.

Each usable decoder must read what it is expected to read and, where a decoder genuinely
cannot read a case, the test says so by asserting that it cannot.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import cv2
import numpy as np
import pytest

from hardware import decoders
from tests.scan_images import (
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

ALL = {"zxingcpp", "pyzbar", "opencv"}
LINEAR = {"zxingcpp", "pyzbar"}  # OpenCV's QRCodeDetector reads QR codes only

# (name, symbol, transform, decoders that read it). Everything else must not read it.
CASES: list[tuple[str, str, Callable[[np.ndarray], np.ndarray], set[str]]] = [
    ("qr-clean", "qr", lambda i: i, ALL),
    ("qr-bgr", "qr", lambda i: cv2.cvtColor(i, cv2.COLOR_GRAY2BGR), ALL),
    ("qr-rotated-15", "qr", lambda i: rotate(i, 15), ALL),
    ("qr-rotated-90", "qr", rot90, ALL),
    ("qr-blurred", "qr", lambda i: blur(i, 2.0), ALL),
    # A badly out-of-focus webcam (σ = 3 px on 6 px modules): only zxing-cpp still reads it;
    # ZBar and OpenCV find nothing.
    ("qr-very-blurred", "qr", lambda i: blur(i, 3.0), {"zxingcpp"}),
    ("qr-perspective", "qr", perspective, ALL),
    ("qr-dim", "qr", lambda i: dim(i, 0.3), ALL),
    ("qr-very-dim", "qr", lambda i: dim(i, 0.15), ALL),
    ("qr-glare", "qr", glare, ALL),
    ("ean-clean", "ean", lambda i: i, LINEAR),
    ("ean-bgr", "ean", lambda i: cv2.cvtColor(i, cv2.COLOR_GRAY2BGR), LINEAR),
    ("ean-rotated-15", "ean", lambda i: rotate(i, 15), LINEAR),
    ("ean-rotated-90", "ean", rot90, LINEAR),
    ("ean-blurred", "ean", lambda i: blur(i, 1.2), LINEAR),
    # σ = 2 px on 3 px bars merges the narrow bars and spaces: no decoder reads it.
    ("ean-very-blurred", "ean", lambda i: blur(i, 2.0), set()),
    ("ean-perspective", "ean", perspective, LINEAR),
    ("ean-dim", "ean", lambda i: dim(i, 0.3), LINEAR),
    # At 15 % brightness the bars span ~35 grey levels: ZBar still reads them, zxing-cpp's
    # local-average binarizer does not.
    ("ean-very-dim", "ean", lambda i: dim(i, 0.15), {"pyzbar"}),
    ("ean-glare", "ean", glare, LINEAR),
]

_SYMBOLS: dict[str, tuple[np.ndarray, str, str]] = {}


def _symbol(kind: str) -> tuple[np.ndarray, str, str]:
    if kind not in _SYMBOLS:
        if kind == "qr":
            _SYMBOLS[kind] = (scene(qr_image()), PAYLOAD, "qr")
        else:
            _SYMBOLS[kind] = (scene(ean13_image()), EAN, "ean13")
    return _SYMBOLS[kind]


def test_all_three_decoders_are_usable_here():
    # The development machine and CI have libzbar0, the zxing-cpp wheel and OpenCV.
    assert decoders.available_decoders() == list(decoders.PREFERENCE)
    assert set(decoders.PREFERENCE) == ALL


@pytest.mark.parametrize("name,symbol,transform,readers", CASES, ids=[c[0] for c in CASES])
def test_each_decoder_reads_what_it_should(name, symbol, transform, readers):
    image, text, kind = _symbol(symbol)
    frame = transform(image)
    for decoder in decoders.available_decoders():
        found = decoders.decode(frame, decoder)
        read = [d for d in found if d.text == text]
        if decoder in readers:
            assert read, f"{decoder} should read {name}, got {found!r}"
            assert read[0] == decoders.Decoded(text, kind, decoder)
        else:
            assert not read, f"{decoder} unexpectedly read {name}"


def test_blank_frame_decodes_to_nothing():
    for decoder in decoders.available_decoders():
        assert decoders.decode(scene(None), decoder) == []


def test_card_and_product_in_one_frame_both_come_back():
    frame = scene(None)
    qr, ean = qr_image(), ean13_image()
    frame[20 : 20 + qr.shape[0], 20 : 20 + qr.shape[1]] = qr
    frame[300 : 300 + ean.shape[0], 20 : 20 + ean.shape[1]] = ean
    for decoder in LINEAR:
        found = {(d.text, d.kind) for d in decoders.decode(frame, decoder)}
        assert found == {(PAYLOAD, "qr"), (EAN, "ean13")}, decoder


def test_lower_case_card_payload_is_normalised():
    frame = scene(qr_image("  " + PAYLOAD.lower() + "\n"))
    for decoder in decoders.available_decoders():
        assert [d.text for d in decoders.decode(frame, decoder)] == [PAYLOAD], decoder
    # Anything that is not a card payload keeps its case.
    assert decoders.normalise(" Hello ", "qr") == "Hello"


def test_default_decoder_is_first_usable_and_configurable():
    assert decoders.default_decoder().name == decoders.PREFERENCE[0]
    assert decoders.default_decoder("opencv").name == "opencv"
    with pytest.raises(decoders.DecoderUnavailable):
        decoders.default_decoder("quagga")


def test_bad_images_are_refused():
    with pytest.raises(ValueError):
        decoders.decode(np.zeros((10, 10), np.float32))
    with pytest.raises(ValueError):
        decoders.decode(np.zeros((10, 10, 2), np.uint8))


def test_works_without_libzbar(monkeypatch):
    """A kiosk without libzbar0: pyzbar is not usable, zxing-cpp still decodes."""
    # A None entry in sys.modules makes `import pyzbar.pyzbar` raise ImportError, as the
    # missing shared library does.
    monkeypatch.setitem(sys.modules, "pyzbar", None)
    monkeypatch.setitem(sys.modules, "pyzbar.pyzbar", None)
    assert "pyzbar" not in decoders.available_decoders()
    assert decoders.available_decoders() == ["zxingcpp", "opencv"]
    with pytest.raises(decoders.DecoderUnavailable):
        decoders.get_decoder("pyzbar")
    with pytest.raises(decoders.DecoderUnavailable):
        decoders.PyzbarDecoder().decode(scene(qr_image()))
    frame = rotate(scene(qr_image()), 15)
    assert decoders.decode(frame) == [decoders.Decoded(PAYLOAD, "qr", "zxingcpp")]
    assert decoders.decode(scene(ean13_image()), "zxingcpp")[0].text == EAN
