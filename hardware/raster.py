"""Raster mode: slips drawn with Pillow and a CJK font at the printer's dot width and sent
as 1-bit GS v 0 images, for printers without a Chinese font (or without the characters).

The text is laid out exactly as in text mode (:mod:`hardware.receipt`): the paper's columns
become a grid of ``dots // columns`` pixels, a Chinese character takes two cells and an
ASCII character one, so tables line up as they do on a printer's own font. Every pixel is
black or white by a threshold (no dithering: dithered text is grey fuzz on thermal paper).
"""

from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from hardware.cards import CjkFont, find_cjk_font
from hardware.printers import printer_profile
from hardware.receipt import (
    QR_MODULE_DOTS,
    RASTER_FRAGMENT_ROWS,
    Slip,
    char_width,
    qr_image,
    text_width,
)

THRESHOLD = 128  # grey levels below this burn a dot
LINE_GAP = 6  # dots between lines, as the printer's default 30-dot line spacing for 24-dot text


@lru_cache(maxsize=16)
def _font(spec: CjkFont, size: int, bold: bool) -> ImageFont.FreeTypeFont:
    path, index = spec.path, spec.index
    if bold and spec.bold_path:
        path, index = spec.bold_path, spec.bold_index
    return ImageFont.truetype(path, size, index=index)


def cell_dots(columns: int, dots: int) -> int:
    """Width in dots of one column (half a Chinese character) on paper ``dots`` wide."""
    cell = dots // columns
    if cell < 4:
        raise ValueError(f"{columns} columns do not fit {dots} dots")
    return cell


def line_height(cell: int, size: int = 1) -> int:
    """Dots from one text line to the next for characters ``size`` times the normal size."""
    return (2 * cell + LINE_GAP) * size


def draw_line(
    draw: ImageDraw.ImageDraw,
    top: int,
    text: str,
    *,
    cell: int,
    width: int,
    size: int = 1,
    align: str = "left",
    bold: bool = False,
    font: CjkFont | None = None,
) -> None:
    """Draw one line of text on the column grid, ``top`` dots from the image's top."""
    spec = font or find_cjk_font()
    step = cell * size
    face = _font(spec, 2 * step, bold)
    used = text_width(text) * step
    x = {"left": 0, "center": (width - used) // 2, "right": width - used}[align]
    x = max(0, x)
    baseline = top + round(2 * step * 0.88) + (LINE_GAP * size) // 2
    for ch in text:
        w = char_width(ch) * step
        if not ch.isspace():
            # Each character is centred in its cells so proportional ASCII glyphs stay on grid.
            draw.text((x + w / 2, baseline), ch, font=face, fill=0, anchor="ms")
            if bold and not spec.bold_path:
                draw.text((x + w / 2 + 1, baseline), ch, font=face, fill=0, anchor="ms")
        x += w


def to_1bit(image: Image.Image) -> Image.Image:
    """A greyscale image as 1-bit by a fixed threshold (black where it is darker)."""
    return image.convert("L").point(lambda v: 255 if v >= THRESHOLD else 0, mode="1")


def line_image(
    text: str,
    columns: int,
    dots: int,
    *,
    size: int = 1,
    align: str = "left",
    bold: bool = False,
    font: CjkFont | None = None,
) -> Image.Image:
    """One text line as a 1-bit image as wide as the paper: the text mode's fallback for a
    line with characters the printer's font lacks."""
    cell = cell_dots(columns, dots)
    width = cell * columns
    image = Image.new("L", (width, line_height(cell, size)), 255)
    draw_line(
        ImageDraw.Draw(image),
        0,
        text,
        cell=cell,
        width=width,
        size=size,
        align=align,
        bold=bold,
        font=font,
    )
    return to_1bit(image)


def slip_image(
    slip: Slip, paper_mm: int = 80, *, profile: str | None = None, font: CjkFont | None = None
) -> Image.Image:
    """The whole slip as one 1-bit image exactly the printer's dot width (384 / 576 dots)."""
    dots = int(printer_profile(paper_mm, profile).profile_data["media"]["width"]["pixels"])
    parts = slip.parts
    cell = cell_dots(parts.columns, dots)
    rows: list[tuple[str, int, str, bool]] = [
        *((t, 2, "center", True) for t in parts.heading),
        *((t, 1, "center", True) for t in parts.titles),
        *((t, 1, "left", False) for t in parts.body),
    ]
    qr = None
    if slip.qr is not None:
        qr = qr_image(slip.qr, QR_MODULE_DOTS[paper_mm]).convert("L")
    footer = [(t, 1, "left", False) for t in parts.footer]
    height = sum(line_height(cell, size) for _, size, _, _ in rows + footer)
    height += qr.height if qr is not None else 0
    image = Image.new("L", (dots, height), 255)
    draw = ImageDraw.Draw(image)
    y = 0
    spec = font or find_cjk_font()
    for part in (rows, None, footer):  # None: the QR code's place, between body and footer
        if part is None:
            if qr is not None:
                image.paste(qr, ((dots - qr.width) // 2, y))
                y += qr.height
            continue
        for text, size, align, bold in part:
            draw_line(
                draw, y, text, cell=cell, width=dots, size=size, align=align, bold=bold, font=spec
            )
            y += line_height(cell, size)
    return to_1bit(image)


def render_slip_raster(
    slip: Slip, paper_mm: int = 80, *, profile: str | None = None, font: CjkFont | None = None
) -> bytes:
    """The slip as ESC/POS raster images (GS v 0 in fragments), then the cut."""
    from escpos.printer import Dummy  # lazily, see printers.printer_profile

    p = Dummy(profile=printer_profile(paper_mm, profile))
    p.hw("INIT")
    p.image(
        slip_image(slip, paper_mm, profile=profile, font=font),
        fragment_height=RASTER_FRAGMENT_ROWS,
    )
    p.cut()  # feeds 6 lines, then cuts as the profile allows (as in text mode)
    return p.output
