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
    assert set(decoders.PREFERENCE) == ALL | {"auto"}


@pytest.mark.parametrize("name,symbol,transform,readers", CASES, ids=[c[0] for c in CASES])
def test_each_decoder_reads_what_it_should(name, symbol, transform, readers):
    image, text, kind = _symbol(symbol)
    frame = transform(image)
    for decoder in decoders.available_decoders():
        found = decoders.decode(frame, decoder)
        read = [d for d in found if d.text == text]
        if decoder == "auto":  # the chain reads at least what zxing-cpp reads
            assert bool(read) >= ("zxingcpp" in readers), found
            continue
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
    assert decoders.default_decoder().name == decoders.PREFERENCE[0] == "auto"
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
    assert decoders.available_decoders() == ["auto", "zxingcpp", "opencv"]
    with pytest.raises(decoders.DecoderUnavailable):
        decoders.get_decoder("pyzbar")
    with pytest.raises(decoders.DecoderUnavailable):
        decoders.PyzbarDecoder().decode(scene(qr_image()))
    frame = rotate(scene(qr_image()), 15)
    assert decoders.decode(frame) == [decoders.Decoded(PAYLOAD, "qr", "zxingcpp")]
    assert decoders.decode(scene(ean13_image()), "zxingcpp")[0].text == EAN


# -- bytes that are no UTF-8, plain text, the chain ----------------------------------------


def _kanji_qr(text: str = "漢字テスト") -> np.ndarray:
    """A QR code in Kanji mode (Shift-JIS bytes, ECI 20), as a Japanese phone app makes it.

    zxing-cpp's writer draws it; qrcode has no Kanji mode. OpenCV's detectAndDecode raises
    UnicodeDecodeError on it.
    """
    import zxingcpp

    symbol = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode)
    assert symbol.bytes == text.encode("shift_jis")
    return scene(np.pad(np.array(symbol.to_image(scale=6)), 24, constant_values=255))


def _bytes_qr(data: bytes) -> np.ndarray:
    """A QR code in byte mode holding ``data`` as they are (no ECI)."""
    import qrcode

    qr = qrcode.QRCode(border=4, box_size=6)
    qr.add_data(data)
    qr.make(fit=True)
    return scene(np.array(qr.make_image().convert("L"), dtype=np.uint8))


def test_opencv_detect_and_decode_itself_raises_on_shift_jis():
    # What the kiosk called before: the library raises, and the request answered 500.
    with pytest.raises(UnicodeDecodeError):
        cv2.QRCodeDetector().detectAndDecode(_kanji_qr())


@pytest.mark.parametrize("decoder", ["auto", "zxingcpp", "pyzbar", "opencv"])
def test_shift_jis_qr_is_read_as_text_by_every_decoder(decoder):
    found = decoders.decode(_kanji_qr(), decoder)
    assert [d.text for d in found] == ["漢字テスト"]


@pytest.mark.parametrize("decoder", ["auto", "zxingcpp", "pyzbar", "opencv"])
@pytest.mark.parametrize(
    "data", ["カード番号".encode("shift_jis"), "积分卡".encode("gbk"), b"\x81\xff\xfeabc"]
)
def test_bytes_that_are_no_utf8_never_raise(decoder, data):
    found = decoders.decode(_bytes_qr(data), decoder)
    assert len(found) == 1 and found[0].kind == "qr"
    assert found[0].text  # some text, whatever the codec guessed


@pytest.mark.parametrize(
    "decoder,target",
    [
        ("zxingcpp", "zxingcpp.read_barcodes"),
        ("pyzbar", "pyzbar.pyzbar.decode"),
    ],
)
def test_a_library_failing_on_a_frame_reads_nothing(monkeypatch, decoder, target):
    def broken(*args, **kwargs):
        raise RuntimeError("driver bug")

    monkeypatch.setattr(target, broken)
    assert decoders.decode(scene(qr_image()), decoder) == []


def test_opencv_failing_on_a_frame_reads_nothing(monkeypatch):
    class Broken:
        def detectAndDecodeBytes(self, image):  # noqa: N802 - cv2's name
            raise UnicodeDecodeError("utf-8", b"\x8a", 0, 1, "invalid start byte")

    monkeypatch.setattr(cv2, "QRCodeDetector", Broken)
    assert decoders.OpenCVQRDecoder().decode(scene(qr_image())) == []


def test_bytes_to_text_follows_eci_then_utf8_then_latin1():
    assert decoders.bytes_to_text("漢字".encode("shift_jis"), 20) == "漢字"
    assert decoders.bytes_to_text("积分".encode("gb18030"), 29) == "积分"
    assert decoders.bytes_to_text("积分".encode()) == "积分"
    assert decoders.bytes_to_text(b"\x81\xff") == "\x81\xff"


def test_zxing_gives_plain_text_not_escaped_control_characters():
    # zxing-cpp's default text mode (HRI) answers "A<GS>B<SOH>"; the bytes are "A\x1dB\x01".
    frame = _bytes_qr(b"A\x1dB\x01C")
    for decoder in ("auto", "zxingcpp", "pyzbar"):
        assert [d.text for d in decoders.decode(frame, decoder)] == ["A\x1dB\x01C"], decoder


def _occluded_qr() -> np.ndarray:
    # A strip of tape across the card's QR: zxing-cpp finds the symbol but cannot read it.
    frame = scene(qr_image())
    frame[:, 320:330] = 255
    return frame


class _Recorder:
    """A real pyzbar decoder that counts the frames it is given."""

    name = "pyzbar"

    def __init__(self) -> None:
        self.calls = 0

    def is_usable(self) -> bool:
        return True

    def decode(self, image: np.ndarray) -> list[decoders.Decoded]:
        self.calls += 1
        return decoders.PyzbarDecoder().decode(image)


def test_chain_asks_the_second_decoder_only_about_unread_symbols():
    zxing = decoders.ZxingDecoder()
    second = _Recorder()
    chain = decoders.ChainDecoder(zxing, (second,))
    # Empty frames and frames zxing-cpp reads cost one zxing-cpp call, as before.
    assert chain.decode(scene(None)) == []
    assert chain.decode(scene(qr_image())) == [decoders.Decoded(PAYLOAD, "qr", "zxingcpp")]
    assert second.calls == 0 and chain.second_opinions == 0
    # A symbol zxing-cpp saw and could not read goes to the second decoder.
    frame = _occluded_qr()
    found, unread = zxing.read(frame)
    assert found == [] and unread >= 1
    chain.decode(frame)
    assert second.calls == 1 and chain.second_opinions == 1


def test_chain_returns_what_the_second_decoder_reads():
    class Reads:
        name = "pyzbar"

        def is_usable(self) -> bool:
            return True

        def decode(self, image: np.ndarray) -> list[decoders.Decoded]:
            return [decoders.Decoded(PAYLOAD, "qr", "pyzbar")]

    chain = decoders.ChainDecoder(decoders.ZxingDecoder(), (Reads(),))
    assert chain.decode(_occluded_qr()) == [decoders.Decoded(PAYLOAD, "qr", "pyzbar")]


def test_chain_reads_product_barcodes_and_skips_an_unusable_fallback(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyzbar", None)
    monkeypatch.setitem(sys.modules, "pyzbar.pyzbar", None)
    chain = decoders.get_decoder("auto")
    assert chain.fallback().name == "opencv"
    assert decoders.decode(scene(ean13_image())) == [decoders.Decoded(EAN, "ean13", "zxingcpp")]
