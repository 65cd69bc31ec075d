"""Printable points cards (积分信息卡): CR80 cards drawn with Pillow, ten to an A4 page, as PDF.

Plain data in, images and a PDF out: no Flask and no database here. The CLI
(``jifen cards print``) gathers :class:`CardFace` rows and calls :func:`write_pdf`.

A card carries the supermarket and village, the household number, the head's *masked* name,
the QR code of the signed card payload and the payload's digits grouped for typing on the
counter keypad. It never carries a full name or an ID number.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import qrcode
from PIL import Image, ImageDraw, ImageFont

MM_PER_INCH = 25.4
DPI = 300
CARD_MM = (85.6, 54.0)  # ISO/IEC 7810 ID-1 (CR80)
A4_MM = (210.0, 297.0)
COLUMNS, ROWS = 2, 5
CARDS_PER_PAGE = COLUMNS * ROWS

HEADER_RED = (178, 34, 34)
INK = (20, 20, 20)
GREY = (110, 110, 110)
HAIRLINE = (200, 200, 200)

# Where CJK fonts live on Debian/Ubuntu (fonts-noto-cjk first), macOS and Windows.
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)
_PROBE_TEXT = "积分超市户号"


class FontNotFound(Exception):
    """No font that can draw Chinese was found on this machine."""


@dataclass(frozen=True)
class CardFace:
    """What is printed on one card. ``masked_name`` must already be masked (张*丰)."""

    supermarket_name: str
    village: str
    household_no: str
    masked_name: str
    payload: str


@dataclass(frozen=True)
class CjkFont:
    """A font file (and face index inside a .ttc collection) that draws Chinese."""

    path: str
    index: int = 0
    bold_path: str | None = None
    bold_index: int = 0
    mono_index: int | None = None  # a monospaced face in the same collection, for the digits


def mm_to_px(mm: float, dpi: int = DPI) -> int:
    """Millimetres to whole pixels at ``dpi``."""
    return round(mm * dpi / MM_PER_INCH)


def group_digits(payload: str) -> str:
    """The payload as a keeper types it: the 20 digits without ``JF``, in groups of four."""
    digits = payload[2:] if payload.upper().startswith("JF") else payload
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def _face_index(path: str, want: Sequence[str], avoid: Sequence[str] = ()) -> int | None:
    """The index of the first face in a font collection whose name has every word of ``want``."""
    for index in range(32):
        try:
            font = ImageFont.truetype(path, 20, index=index)
        except OSError:
            return None
        family = " ".join(name for name in font.getname() if name)
        if all(w in family for w in want) and not any(a in family for a in avoid):
            return index
    return None


def _draws_chinese(path: str, index: int) -> bool:
    try:
        font = ImageFont.truetype(path, 40, index=index)
    except OSError:
        return False
    # A font without the glyphs draws every character as the same .notdef box.
    masks = {bytes(font.getmask(ch)) for ch in _PROBE_TEXT}
    return len(masks) == len(set(_PROBE_TEXT))


def _fontconfig_candidates() -> list[str]:
    if shutil.which("fc-match") is None:
        return []
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}\n", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def _font_spec(path: str) -> CjkFont | None:
    if path.lower().endswith(".ttc"):
        index = _face_index(path, ["SC"], avoid=["Mono"])
        if index is None:
            index = 0
        mono = _face_index(path, ["Mono", "SC"])
    else:
        index, mono = 0, None
    if not _draws_chinese(path, index):
        return None
    bold_path, bold_index = None, 0
    for regular, bold in (("Regular", "Bold"), ("regular", "bold")):
        candidate = path.replace(regular, bold)
        if candidate != path and os.path.exists(candidate):
            bold_path = candidate
            bold_index = (
                (_face_index(candidate, ["SC"], avoid=["Mono"]) or 0)
                if candidate.lower().endswith(".ttc")
                else 0
            )
            break
    return CjkFont(path, index, bold_path, bold_index, mono)


@lru_cache(maxsize=8)
def find_cjk_font(preferred: str | None = None) -> CjkFont:
    """A CJK font: ``preferred`` when given, else the first that works among common paths."""
    if preferred:
        if not os.path.exists(preferred):
            raise FontNotFound(f"找不到指定的字体文件：{preferred}")
        spec = _font_spec(preferred)
        if spec is None:
            raise FontNotFound(f"字体 {preferred} 不能显示中文，请换一个中文字体")
        return spec
    for path in (*FONT_CANDIDATES, *_fontconfig_candidates()):
        if os.path.exists(path):
            spec = _font_spec(path)
            if spec is not None:
                return spec
    raise FontNotFound(
        "没有找到中文字体，无法打印积分卡。请安装 fonts-noto-cjk"
        "（sudo apt-get install fonts-noto-cjk），或用 --font 指定一个中文字体文件。"
    )


class _Fonts:
    """Sized fonts for one rendering, cached by (weight, size)."""

    def __init__(self, spec: CjkFont) -> None:
        self.spec = spec
        self._cache: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}

    def get(self, size: int, weight: str = "regular") -> ImageFont.FreeTypeFont:
        key = (weight, size)
        if key not in self._cache:
            path, index = self.spec.path, self.spec.index
            if weight == "bold" and self.spec.bold_path:
                path, index = self.spec.bold_path, self.spec.bold_index
            elif weight == "mono" and self.spec.mono_index is not None:
                index = self.spec.mono_index
            self._cache[key] = ImageFont.truetype(path, size, index=index)
        return self._cache[key]

    def fit(
        self, draw: ImageDraw.ImageDraw, text: str, size: int, width: int, weight: str = "regular"
    ):
        """The largest font up to ``size`` in which ``text`` fits in ``width`` pixels."""
        while size > 8:
            font = self.get(size, weight)
            if draw.textlength(text, font=font) <= width:
                return font
            size -= 2
        return self.get(size, weight)


def qr_image(payload: str, box: int) -> Image.Image:
    """The payload's QR code (error correction M), ``box`` pixels per module, no quiet zone."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=0)
    qr.add_data(payload)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    n = len(matrix)
    img = Image.new("L", (n, n), 255)
    img.putdata([0 if cell else 255 for row in matrix for cell in row])
    return img.resize((n * box, n * box), Image.Resampling.NEAREST)


def card_lines(face: CardFace) -> list[str]:
    """Every piece of text drawn on the card, in drawing order."""
    return [
        face.supermarket_name,
        f"{face.village} · 积分信息卡" if face.village else "积分信息卡",
        "户号",
        face.household_no,
        f"户主 {face.masked_name}",
        f"卡号 {group_digits(face.payload)}",
        "凭卡兑换 · 遗失请到村委补办",
    ]


def render_card(face: CardFace, font: CjkFont | None = None, dpi: int = DPI) -> Image.Image:
    """One card as an RGB image of 85.6 × 54 mm at ``dpi``."""
    fonts = _Fonts(font or find_cjk_font())
    s = dpi / DPI  # every size below is in pixels at 300 dpi
    w, h = mm_to_px(CARD_MM[0], dpi), mm_to_px(CARD_MM[1], dpi)
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    title, subtitle, no_label, number, head, digits, footer = card_lines(face)

    pad = round(44 * s)
    header_h = round(112 * s)
    draw.rectangle([0, 0, w, header_h], fill=HEADER_RED)
    f = fonts.fit(draw, title, round(54 * s), w - 2 * pad, "bold")
    draw.text((pad, header_h // 2), title, font=f, fill="white", anchor="lm")

    # QR on the right with a quiet zone of at least four modules on every side.
    modules = qr_image(face.payload, 1).width
    box = max(1, round(340 * s / modules))
    qr = qr_image(face.payload, box)
    quiet = 4 * box
    qr_x = w - quiet - qr.width
    qr_y = header_h + (h - header_h - qr.height) // 2
    img.paste(qr.convert("RGB"), (qr_x, qr_y))

    text_w = qr_x - quiet // 2 - pad
    y = header_h + round(22 * s)
    f = fonts.fit(draw, subtitle, round(36 * s), text_w)
    draw.text((pad, y), subtitle, font=f, fill=INK)
    y += round(62 * s)
    f = fonts.get(round(30 * s))
    draw.text((pad, y), no_label, font=f, fill=GREY)
    y += round(36 * s)
    f = fonts.fit(draw, number, round(84 * s), text_w, "bold")
    draw.text((pad, y), number, font=f, fill=INK)
    y += round(104 * s)
    f = fonts.fit(draw, head, round(52 * s), text_w)
    draw.text((pad, y), head, font=f, fill=INK)
    y += round(78 * s)
    f = fonts.fit(draw, digits, round(34 * s), text_w, "mono")
    draw.text((pad, y), digits, font=f, fill=INK)
    f = fonts.fit(draw, footer, round(24 * s), text_w)
    draw.text((pad, h - round(24 * s)), footer, font=f, fill=GREY, anchor="ls")
    return img


def _chunks(items: Sequence[CardFace], size: int) -> Iterable[Sequence[CardFace]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def render_pages(
    faces: Sequence[CardFace], font: CjkFont | None = None, footer: str = "", dpi: int = DPI
) -> list[Image.Image]:
    """A4 pages of ten cards each (2 × 5, edge to edge) with cut marks in the margins."""
    if not faces:
        raise ValueError("no cards to print")
    spec = font or find_cjk_font()
    fonts = _Fonts(spec)
    page_w, page_h = mm_to_px(A4_MM[0], dpi), mm_to_px(A4_MM[1], dpi)
    card_w, card_h = mm_to_px(CARD_MM[0], dpi), mm_to_px(CARD_MM[1], dpi)
    x0 = (page_w - COLUMNS * card_w) // 2
    y0 = (page_h - ROWS * card_h) // 2
    gap, mark = mm_to_px(2, dpi), mm_to_px(5, dpi)
    line = max(1, mm_to_px(0.2, dpi))
    chunks = list(_chunks(list(faces), CARDS_PER_PAGE))
    pages = []
    for page_no, chunk in enumerate(chunks, start=1):
        page = Image.new("RGB", (page_w, page_h), "white")
        draw = ImageDraw.Draw(page)
        for i, face in enumerate(chunk):
            col, row = i % COLUMNS, i // COLUMNS
            page.paste(render_card(face, spec, dpi), (x0 + col * card_w, y0 + row * card_h))
        x1, y1 = x0 + COLUMNS * card_w, y0 + ROWS * card_h
        # Hairlines along the cuts help with scissors; marks outside the grid guide a trimmer.
        for c in range(COLUMNS + 1):
            x = x0 + c * card_w
            draw.line([(x, y0), (x, y1)], fill=HAIRLINE, width=1)
            draw.line([(x, y0 - gap - mark), (x, y0 - gap)], fill=INK, width=line)
            draw.line([(x, y1 + gap), (x, y1 + gap + mark)], fill=INK, width=line)
        for r in range(ROWS + 1):
            y = y0 + r * card_h
            draw.line([(x0, y), (x1, y)], fill=HAIRLINE, width=1)
            draw.line([(x0 - gap - mark, y), (x0 - gap, y)], fill=INK, width=line)
            draw.line([(x1 + gap, y), (x1 + gap + mark, y)], fill=INK, width=line)
        text = f"第 {page_no}/{len(chunks)} 页" + (f" · {footer}" if footer else "")
        f = fonts.get(round(28 * dpi / DPI))
        draw.text(
            (page_w // 2, y1 + gap + mark + mm_to_px(2, dpi)), text, font=f, fill=GREY, anchor="mt"
        )
        pages.append(page)
    return pages


def write_pdf(
    faces: Sequence[CardFace],
    path: str | os.PathLike[str],
    font: CjkFont | None = None,
    footer: str = "",
    dpi: int = DPI,
) -> int:
    """Write the card sheet as a PDF (print at 100 %, no scaling); return the page count."""
    pages = render_pages(faces, font, footer, dpi)
    pages[0].save(
        os.fspath(path),
        "PDF",
        resolution=float(dpi),
        save_all=True,
        append_images=pages[1:],
        title="积分信息卡",
    )
    return len(pages)
