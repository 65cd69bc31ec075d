"""A small ESC/POS decoder for the tests: it walks our byte stream command by command, as a
Chinese thermal printer would, and gives back what lands on the paper.

Text is decoded from GB18030 inside Chinese mode (FS & ... FS .) and must be ASCII outside
it; QR codes are read from GS ( k (the data stored by fn 80 when fn 81 prints it); raster
images (GS v 0) become PIL images with black where the printer burns a dot. Any command we
do not send, a truncated command, text left unprinted in the buffer, or a command that only
works at the start of a line arriving mid-line raises ``DecodeError``, so that a change in
what we send fails the tests loudly instead of decoding to something plausible.

Widths are counted independently of ``hardware.receipt``: one column for an ASCII byte, two
for a character from the Chinese font, times the GS ! width multiplier.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image, ImageOps

ESC, GS, FS, LF = 0x1B, 0x1D, 0x1C, 0x0A
ALIGN = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}
QR_EC = {48: "L", 49: "M", 50: "Q", 51: "H"}


class DecodeError(Exception):
    """The bytes are not what our receipts are made of."""


@dataclass(frozen=True)
class TextLine:
    """One printed line of text with the attributes it was printed with."""

    text: str
    align: str
    width: int  # GS ! width multiplier
    height: int  # GS ! height multiplier
    bold: bool
    columns: int  # columns used on the paper, multipliers included


@dataclass(frozen=True)
class QRCode:
    """A QR symbol printed natively (GS ( k)."""

    data: str
    module: int
    ec: str
    model: int
    align: str


@dataclass(frozen=True)
class Raster:
    """A raster bit image (GS v 0); ``image`` is black on white, as on the paper."""

    image: Image.Image
    scale: int
    align: str


@dataclass(frozen=True)
class Cut:
    """A paper cut (GS V)."""

    partial: bool


@dataclass
class Printout:
    """What a printer would have produced from the bytes, in order."""

    blocks: list[TextLine | QRCode | Raster | Cut] = field(default_factory=list)
    chinese_mode_at_end: bool = False

    @property
    def text_lines(self) -> list[TextLine]:
        return [b for b in self.blocks if isinstance(b, TextLine)]

    @property
    def lines(self) -> list[str]:
        """The printed text, one string per line."""
        return [b.text for b in self.text_lines]

    @property
    def qr_codes(self) -> list[str]:
        return [b.data for b in self.blocks if isinstance(b, QRCode)]

    @property
    def images(self) -> list[Image.Image]:
        return [b.image for b in self.blocks if isinstance(b, Raster)]

    @property
    def cuts(self) -> list[Cut]:
        return [b for b in self.blocks if isinstance(b, Cut)]

    def page(self) -> Image.Image:
        """Every raster image stacked top to bottom as on the paper (fragments joined)."""
        images = self.images
        if not images:
            raise DecodeError("no raster image printed")
        page = Image.new("L", (max(i.width for i in images), sum(i.height for i in images)), 255)
        y = 0
        for image in images:
            page.paste(image, (0, y))
            y += image.height
        return page


class _Decoder:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.out = Printout()
        self.reset()
        self.chinese = False

    def reset(self) -> None:
        self.align = "left"
        self.bold = False
        self.width = 1
        self.height = 1
        self.buffer: list[str] = []
        self.buffer_columns = 0
        self.qr_model = 2
        self.qr_module = 3
        self.qr_ec = "L"
        self.qr_data: bytes | None = None

    # -- reading ----------------------------------------------------------------------------
    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise DecodeError(f"truncated command at byte {self.pos}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def at_line_start(self, what: str) -> None:
        if self.buffer:
            raise DecodeError(f"{what} mid-line after {''.join(self.buffer)!r}")

    # -- printing ---------------------------------------------------------------------------
    def newline(self) -> None:
        self.out.blocks.append(
            TextLine(
                text="".join(self.buffer),
                align=self.align,
                width=self.width,
                height=self.height,
                bold=self.bold,
                columns=self.buffer_columns,
            )
        )
        self.buffer, self.buffer_columns = [], 0

    def char(self, ch: str, columns: int) -> None:
        self.buffer.append(ch)
        self.buffer_columns += columns * self.width

    # -- commands ---------------------------------------------------------------------------
    def esc(self) -> None:
        cmd = self.byte()
        if cmd == 0x40:  # ESC @ initialise
            self.at_line_start("ESC @ (it discards the buffer)")
            self.reset()
            self.chinese = False
        elif cmd == 0x61:  # ESC a n
            n = self.byte()
            if n not in ALIGN:
                raise DecodeError(f"ESC a {n}")
            self.at_line_start("ESC a (only effective at the start of a line)")
            self.align = ALIGN[n]
        elif cmd == 0x45:  # ESC E n
            self.bold = bool(self.byte() & 1)
        elif cmd == 0x64:  # ESC d n: print and feed n lines
            for _ in range(self.byte()):
                self.newline()
        elif cmd == 0x21:  # ESC ! n (python-escpos set(normal_textsize=True))
            n = self.byte()
            if n & 0x30:
                raise DecodeError("ESC ! enlarges ASCII only; headings must use GS !")
            self.bold = bool(n & 0x08)
        elif cmd in (0x2D, 0x4D, 0x7B):  # ESC - underline, ESC M font, ESC { upside-down
            n = self.byte()
            if cmd == 0x4D and n not in (0, 48):
                raise DecodeError("font B changes the column count")
            if cmd == 0x7B and n & 1:
                raise DecodeError("upside-down printing")
        else:
            raise DecodeError(f"unknown command ESC 0x{cmd:02x} at byte {self.pos - 2}")

    def gs(self) -> None:
        cmd = self.byte()
        if cmd == 0x21:  # GS ! n: character size
            n = self.byte()
            self.width, self.height = (n >> 4) + 1, (n & 0x0F) + 1
        elif cmd == 0x28:  # GS ( k
            if self.byte() != 0x6B:
                raise DecodeError(f"unknown command GS ( at byte {self.pos - 3}")
            self.two_d_code()
        elif cmd == 0x76:  # GS v 0: raster bit image
            if self.byte() != 0x30:
                raise DecodeError("GS v other than GS v 0")
            self.raster()
        elif cmd == 0x56:  # GS V: cut
            m = self.byte()
            if m in (65, 66):
                self.byte()
            elif m not in (0, 1, 48, 49):
                raise DecodeError(f"GS V {m}")
            self.at_line_start("GS V (cut)")
            self.out.blocks.append(Cut(partial=m in (1, 49, 66)))
        elif cmd in (0x42, 0x62, 0x7C):  # GS B invert, GS b smoothing, GS | density
            n = self.byte()
            if cmd == 0x42 and n & 1:
                raise DecodeError("white-on-black printing")
        else:
            raise DecodeError(f"unknown command GS 0x{cmd:02x} at byte {self.pos - 2}")

    def two_d_code(self) -> None:
        size = int.from_bytes(self.take(2), "little")
        body = self.take(size)
        if size < 2 or body[0] != 49:
            raise DecodeError("GS ( k for a symbol other than QR")
        fn, rest = body[1], body[2:]
        if fn == 65:  # model
            self.qr_model = {49: 1, 50: 2, 51: 3}[rest[0]]
        elif fn == 67:  # module size
            self.qr_module = rest[0]
        elif fn == 69:  # error correction
            self.qr_ec = QR_EC[rest[0]]
        elif fn == 80:  # store data
            if rest[:1] != b"0":
                raise DecodeError("GS ( k fn 80 without m=48")
            self.qr_data = bytes(rest[1:])
        elif fn == 81:  # print the stored symbol
            if rest != b"0":
                raise DecodeError("GS ( k fn 81 without m=48")
            if self.qr_data is None:
                raise DecodeError("QR printed before its data was stored")
            self.at_line_start("QR print")
            self.out.blocks.append(
                QRCode(
                    data=self.qr_data.decode("utf-8"),
                    module=self.qr_module,
                    ec=self.qr_ec,
                    model=self.qr_model,
                    align=self.align,
                )
            )
        else:
            raise DecodeError(f"GS ( k fn {fn}")

    def raster(self) -> None:
        m = self.byte()
        if m not in (0, 1, 2, 3, 48, 49, 50, 51):
            raise DecodeError(f"GS v 0 mode {m}")
        width_bytes = int.from_bytes(self.take(2), "little")
        height = int.from_bytes(self.take(2), "little")
        bits = self.take(width_bytes * height)
        self.at_line_start("raster image")
        # In PIL's 1-bit raw format a set bit is white; on the paper it is a black dot.
        raw = Image.frombytes("1", (width_bytes * 8, height), bits)
        image = ImageOps.invert(raw.convert("L"))
        self.out.blocks.append(Raster(image=image, scale=(m & 3) + 1, align=self.align))

    def fs(self) -> None:
        cmd = self.byte()
        if cmd == 0x26:  # FS & Chinese mode on
            self.chinese = True
        elif cmd == 0x2E:  # FS . Chinese mode off
            self.chinese = False
        else:
            raise DecodeError(f"unknown command FS 0x{cmd:02x} at byte {self.pos - 2}")

    def text(self, first: int) -> None:
        if first < 0x80:
            self.char(chr(first), 1)
            return
        if not self.chinese:
            raise DecodeError(f"byte 0x{first:02x} outside Chinese mode at {self.pos - 1}")
        if not 0x81 <= first <= 0xFE:
            raise DecodeError(f"invalid GB18030 lead byte 0x{first:02x} at {self.pos - 1}")
        second = self.byte()
        raw = bytes((first, second)) + (self.take(2) if 0x30 <= second <= 0x39 else b"")
        try:
            ch = raw.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"invalid GB18030 {raw!r} at {self.pos - len(raw)}") from exc
        self.char(ch, 2)

    def run(self) -> Printout:
        while self.pos < len(self.data):
            b = self.byte()
            if b == LF:
                self.newline()
            elif b == ESC:
                self.esc()
            elif b == GS:
                self.gs()
            elif b == FS:
                self.fs()
            elif 0x20 <= b < 0x7F or b >= 0x80:
                self.text(b)
            else:
                raise DecodeError(f"unexpected control byte 0x{b:02x} at {self.pos - 1}")
        if self.buffer:
            raise DecodeError(f"text never printed (no LF): {''.join(self.buffer)!r}")
        self.out.chinese_mode_at_end = self.chinese
        return self.out


def decode(data: bytes) -> Printout:
    """Decode an ESC/POS byte stream into what the printer would print."""
    return _Decoder(data).run()
