"""Barcode and QR decoders behind one interface: pyzbar, zxing-cpp and OpenCV's QRCodeDetector.

Card QR payloads and product EAN-13 barcodes go through the same path::

    decode(image)            # numpy array, grey (H×W) or BGR (H×W×3), uint8
    -> [Decoded(text="JF0000000101…", kind="qr", decoder="zxingcpp")]

Every decoder is optional in the way python-escpos treats its transports: the import is
guarded and ``is_usable()`` says whether it can run here. pyzbar needs the system library
libzbar0; without it the kiosk falls back to the next decoder. The order of
:data:`PREFERENCE` comes from ``bench/decoders.py`` (results in ``docs/decoders.md``).
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # NumPy loads with the first frame, not at start-up
    import numpy as np

# Fastest first with a full decode rate on the benchmark's frames; see docs/decoders.md.
PREFERENCE = ("zxingcpp", "pyzbar", "opencv")

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


def normalise(text: str, kind: str) -> str:
    """Strip whitespace; card payloads (``JF…``) are upper-case ASCII by definition."""
    text = text.strip()
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
        found = []
        for result in pyzbar.decode(to_grey(image), symbols=symbols):
            kind = _PYZBAR_KINDS.get(result.type, result.type.lower())
            text = result.data.decode("utf-8", errors="replace")
            found.append(Decoded(normalise(text, kind), kind, self.name))
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
        try:
            zxingcpp = importlib.import_module("zxingcpp")
        except ImportError as exc:
            raise DecoderUnavailable(f"zxing-cpp 不可用：{exc}") from exc
        if self._formats is None:
            self._formats = zxingcpp.barcode_formats_from_str(",".join(_ZXING_KINDS))
        found = []
        for result in zxingcpp.read_barcodes(to_grey(image), formats=self._formats):
            if not result.valid:
                continue
            name = result.format.name
            kind = _ZXING_KINDS.get(name, name.lower())
            found.append(Decoded(normalise(result.text, kind), kind, self.name))
        return _unique(found)


class OpenCVQRDecoder:
    """OpenCV's ``cv2.QRCodeDetector``: one QR code per frame, no EAN-13."""

    name = "opencv"

    def __init__(self) -> None:
        # A detector keeps state between calls; one per thread.
        self._local = threading.local()

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

        detector = getattr(self._local, "detector", None)
        if detector is None:
            detector = self._local.detector = cv2.QRCodeDetector()
        try:
            text, _points, _straight = detector.detectAndDecode(to_grey(image))
        except cv2.error:
            # OpenCV asserts inside its detector on some low-contrast frames: nothing read.
            return []
        if not text:
            return []
        return [Decoded(normalise(text, "qr"), "qr", self.name)]


_DECODERS: dict[str, Decoder] = {
    d.name: d for d in (ZxingDecoder(), PyzbarDecoder(), OpenCVQRDecoder())
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
