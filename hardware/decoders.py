"""Barcode and QR decoders behind one interface: pyzbar, zxing-cpp, OpenCV, and a chain.

Card QR payloads and product EAN-13 barcodes go through the same path::

    decode(image)            # numpy array, grey (H×W) or BGR (H×W×3), uint8
    -> [Decoded(text="JF0000000101…", kind="qr", decoder="zxingcpp")]

The default is the chain ``auto``: zxing-cpp reads every frame, in plain-text mode (the bytes
as they are, not ``<SOH>``-escaped nor GS1 data rewritten as ``(01)…``); only when zxing-cpp
saw a symbol it could not read (``return_errors=True`` gives it back as invalid) does the
second decoder (pyzbar, else OpenCV) look at the frame. An empty frame costs one zxing-cpp
call, as before; a damaged card gets a second opinion.

Every decoder is optional in the way python-escpos treats its transports: the import is
guarded and ``is_usable()`` says whether it can run here. pyzbar needs the system library
libzbar0; without it the chain falls back to OpenCV. The order of :data:`PREFERENCE` comes
from ``bench/decoders.py`` (results in ``docs/decoders.md``). A decoder that fails on a frame
(a library error, bytes that are no text) reads nothing from it; it never raises.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # NumPy loads with the first frame, not at start-up
    import numpy as np

logger = logging.getLogger(__name__)

# The chain first, then the single decoders fastest first; see docs/decoders.md.
PREFERENCE = ("auto", "zxingcpp", "pyzbar", "opencv")

# What a counter sees: the card QR and retail product codes.
KINDS = ("qr", "ean13", "ean8", "upca", "upce", "code128")

_PYZBAR_KINDS = {
    "QRCODE": "qr",
    "EAN13": "ean13",
    "EAN8": "ean8",
    "UPCA": "upca",
    "UPCE": "upce",
    "CODE128": "code128",
}
_ZXING_KINDS = {
    "QRCode": "qr",
    "EAN13": "ean13",
    "EAN8": "ean8",
    "UPCA": "upca",
    "UPCE": "upce",
    "Code128": "code128",
}


class DecoderUnavailable(Exception):
    """The named decoder does not exist or cannot run on this machine."""


@dataclass(frozen=True)
class Decoded:
    """One code read from an image."""

    text: str
    kind: str  # "qr" | "ean13" | "ean8" | "upca" | "upce" | "code128"
    decoder: str


class Decoder(Protocol):
    """What every decoder offers."""

    name: str

    def is_usable(self) -> bool: ...

    def decode(self, image: np.ndarray) -> list[Decoded]: ...


def to_grey(image: np.ndarray) -> np.ndarray:
    """A contiguous 8-bit greyscale copy (or the image itself when it already is one)."""
    import numpy as np

    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError("image must be a uint8 numpy array")
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        import cv2

        code = cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        return cv2.cvtColor(image, code)
    raise ValueError(f"unsupported image shape {image.shape!r}")


# Only blanks around a code are noise; control characters (GS1's GS, a reader's <SOH>) are data.
_BLANKS = " \t\r\n"

# ECI designators OpenCV reports for a QR code's bytes, and the codec that turns them into text.
_ECI_CODECS = {1: "latin-1", 3: "latin-1", 20: "shift_jis", 26: "utf-8", 29: "gb18030"}


def bytes_to_text(data: bytes, eci: int = 0) -> str:
    """A code's bytes as text: its declared ECI, else UTF-8, else Latin-1 (which never fails)."""
    for codec in (_ECI_CODECS.get(eci), "utf-8"):
        if codec:
            try:
                return data.decode(codec)
            except (UnicodeDecodeError, LookupError):
                pass
    return data.decode("latin-1")


def normalise(text: str, kind: str) -> str:
    """Strip blanks; card payloads (``JF…``) are upper-case ASCII by definition."""
    text = text.strip(_BLANKS)
    if kind == "qr" and text[:2].upper() == "JF":
        text = text.upper()
    return text


def _unique(found: list[Decoded]) -> list[Decoded]:
    seen: set[tuple[str, str]] = set()
    out = []
    for item in found:
        if item.text and (item.text, item.kind) not in seen:
            seen.add((item.text, item.kind))
            out.append(item)
    return out


def _import_pyzbar() -> Any:
    # ImportError when the package is missing, an ImportError/OSError from ctypes when
    # libzbar0 is not installed; both mean "not usable here".
    return importlib.import_module("pyzbar.pyzbar")


class PyzbarDecoder:
    """ZBar through pyzbar: QR and 1-D retail codes; needs libzbar0."""

    name = "pyzbar"

    def is_usable(self) -> bool:
        """True when pyzbar and libzbar0 load."""
        try:
            _import_pyzbar()
        except (ImportError, OSError):
            return False
        return True

    def decode(self, image: np.ndarray) -> list[Decoded]:
        """Decode every QR / retail code in the image."""
        try:
            pyzbar = _import_pyzbar()
        except (ImportError, OSError) as exc:
            raise DecoderUnavailable(f"pyzbar 不可用：{exc}") from exc
        symbols = [getattr(pyzbar.ZBarSymbol, name) for name in _PYZBAR_KINDS]
        grey = to_grey(image)
        found = []
        try:
            results = pyzbar.decode(grey, symbols=symbols)
            for result in results:
                kind = _PYZBAR_KINDS.get(result.type, result.type.lower())
                text = bytes_to_text(bytes(result.data))
                found.append(Decoded(normalise(text, kind), kind, self.name))
        except Exception:  # a library failure on one frame reads nothing, never a 500
            logger.warning("pyzbar failed on a %s frame", grey.shape, exc_info=True)
            return []
        return _unique(found)


class ZxingDecoder:
    """zxing-cpp: a self-contained wheel reading QR and 1-D retail codes."""

    name = "zxingcpp"

    def __init__(self) -> None:
        self._formats: Any = None

    def is_usable(self) -> bool:
        """True when the zxingcpp module imports."""
        try:
            importlib.import_module("zxingcpp")
        except ImportError:
            return False
        return True

    def decode(self, image: np.ndarray) -> list[Decoded]:
        """Decode every QR / retail code in the image."""
        return self.read(image)[0]

    def read(self, image: np.ndarray) -> tuple[list[Decoded], int]:
        """The codes read and how many symbols were seen but could not be read."""
        try:
            zxingcpp = importlib.import_module("zxingcpp")
        except ImportError as exc:
            raise DecoderUnavailable(f"zxing-cpp 不可用：{exc}") from exc
        if self._formats is None:
            self._formats = zxingcpp.barcode_formats_from_str(",".join(_ZXING_KINDS))
        grey = to_grey(image)
        found, unread = [], 0
        try:
            # Plain: the symbol's bytes as text (HRI would write <SOH> for 0x01 and "(01)…"
            # for GS1 data); errors: a symbol found but not read tells the chain to try again.
            results = zxingcpp.read_barcodes(
                grey,
                formats=self._formats,
                text_mode=zxingcpp.TextMode.Plain,
                return_errors=True,
            )
            for result in results:
                if not result.valid:
                    unread += 1
                    continue
                name = result.format.name
                kind = _ZXING_KINDS.get(name, name.lower())
                found.append(Decoded(normalise(result.text, kind), kind, self.name))
        except Exception:  # a library failure on one frame reads nothing, never a 500
            logger.warning("zxing-cpp failed on a %s frame", grey.shape, exc_info=True)
            return [], 0
        return _unique(found), unread


class OpenCVQRDecoder:
    """OpenCV's ``cv2.QRCodeDetector``: one QR code per frame, no EAN-13."""

    name = "opencv"

    def is_usable(self) -> bool:
        """True when cv2 imports and has QRCodeDetector."""
        try:
            cv2 = importlib.import_module("cv2")
        except ImportError:
            return False
        return hasattr(cv2, "QRCodeDetector")

    def decode(self, image: np.ndarray) -> list[Decoded]:
        """Decode the QR codes in the image."""
        import cv2

        # A fresh detector per frame (under a microsecond): a reused one reports the ECI of
        # an earlier frame from getEncoding(), and keeps state between calls besides.
        detector = cv2.QRCodeDetector()
        grey = to_grey(image)
        try:
            if hasattr(detector, "detectAndDecodeBytes"):
                # The bytes, then text here: detectAndDecode raises UnicodeDecodeError on a
                # Shift-JIS (Kanji mode) or GBK code.
                data, _points, _straight = detector.detectAndDecodeBytes(grey)
                text = bytes_to_text(bytes(data), detector.getEncoding()) if data else ""
            else:  # pragma: no cover - OpenCV before 4.11
                text, _points, _straight = detector.detectAndDecode(grey)
        except Exception:
            # OpenCV asserts inside its detector on some low-contrast frames, and older
            # versions raise on bytes that are no UTF-8: nothing read, never a 500.
            logger.info("OpenCV could not decode a %s frame", grey.shape, exc_info=True)
            return []
        if not text:
            return []
        return [Decoded(normalise(text, "qr"), "qr", self.name)]


class ChainDecoder:
    """zxing-cpp on every frame; a second decoder only on frames with a symbol it could not read."""

    name = "auto"

    def __init__(self, first: ZxingDecoder, fallbacks: tuple[Decoder, ...]) -> None:
        self.first = first
        self.fallbacks = fallbacks
        self.second_opinions = 0  # frames handed to a fallback (for the benchmark and tests)

    def is_usable(self) -> bool:
        """True when zxing-cpp is usable (the fallbacks are optional)."""
        return self.first.is_usable()

    def fallback(self) -> Decoder | None:
        """The second decoder used here: the first usable fallback, or None."""
        return next((d for d in self.fallbacks if d.is_usable()), None)

    def decode(self, image: np.ndarray) -> list[Decoded]:
        """zxing-cpp's codes, plus the fallback's when zxing-cpp left a symbol unread."""
        return self.read(image)[0]

    def read(self, image: np.ndarray) -> tuple[list[Decoded], int]:
        """The codes read, and how many symbols zxing-cpp saw but could not read."""
        grey = to_grey(image)
        found, unread = self.first.read(grey)
        if unread:
            second = self.fallback()
            if second is not None:
                self.second_opinions += 1
                found = _unique(found + second.decode(grey))
        return found, unread


_ZXING, _PYZBAR, _OPENCV = ZxingDecoder(), PyzbarDecoder(), OpenCVQRDecoder()
_DECODERS: dict[str, Decoder] = {
    d.name: d for d in (ChainDecoder(_ZXING, (_PYZBAR, _OPENCV)), _ZXING, _PYZBAR, _OPENCV)
}


def all_decoders() -> list[str]:
    """Every decoder jifen knows, in order of preference."""
    return list(PREFERENCE)


def available_decoders() -> list[str]:
    """The decoders usable on this machine, in order of preference."""
    return [name for name in PREFERENCE if _DECODERS[name].is_usable()]


def get_decoder(name: str) -> Decoder:
    """The decoder called ``name``; DecoderUnavailable when unknown or not usable here."""
    decoder = _DECODERS.get(name)
    if decoder is None:
        raise DecoderUnavailable(f"没有名为 {name!r} 的解码器（可选：{', '.join(PREFERENCE)}）")
    if not decoder.is_usable():
        raise DecoderUnavailable(f"解码器 {name} 在本机不可用")
    return decoder


def default_decoder(name: str | None = None) -> Decoder:
    """The configured decoder when ``name`` is given, else the first usable one."""
    if name:
        return get_decoder(name)
    for candidate in PREFERENCE:
        if _DECODERS[candidate].is_usable():
            return _DECODERS[candidate]
    raise DecoderUnavailable("本机没有可用的条码解码器")


def decode(image: np.ndarray, decoder: str | None = None) -> list[Decoded]:
    """Decode QR codes and barcodes in a grey or BGR image with the chosen (or default) decoder."""
    return default_decoder(decoder).decode(image)
