"""Evidence photos (佐证照片) of proposals: checked, re-encoded without EXIF, stored by hash.

A photo arrives from the assessment group's phone (already resized there to 1600 px) or from
any API client. Before anything is decoded its size (``MAX_PHOTO_BYTES``) and the pixels its
header declares (``MAX_PHOTO_PIXELS``) are checked; then Pillow decodes it, turns it upright
by its EXIF orientation, scales it to ``MAX_SIDE`` and writes a fresh JPEG that carries no
EXIF at all (no camera, no time, no GPS position). The file is named by the SHA-256 of those
bytes: ``<instance>/files/evidence/<sha256[:2]>/<sha256>.jpg``, written to a temporary file
and renamed into place, so a broken upload or a power cut never leaves half a photo under a
real name, and the same photo sent twice is stored once. ``instance/files/`` is in every
backup (kiosk.backup).

The rows (``ProposalPhoto``) are added in the proposal's own transaction
(:func:`kiosk.intake.submit_proposal`); the files are written first, so a row never names a
missing file.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
from dataclasses import dataclass

from flask import current_app

from kiosk import parsing
from kiosk.errors import NotFound, TooLarge, ValidationFailed
from kiosk.messages import _
from kiosk.models import ProposalPhoto

logger = logging.getLogger(__name__)

MAX_PHOTOS = 4
MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000  # 40 MP: more than any phone camera takes
MAX_SIDE = 1600
JPEG_QUALITY = 85
CONTENT_TYPE = "image/jpeg"
FOLDER = ("files", "evidence")


@dataclass(frozen=True)
class Photo:
    """A photo ready to store: the re-encoded JPEG and what its row records."""

    data: bytes
    sha256: str
    width: int
    height: int

    @property
    def size(self) -> int:
        return len(self.data)


def prepare(data: bytes, *, name: str = "") -> Photo:
    """Check one uploaded photo and re-encode it as a JPEG without EXIF, at most MAX_SIDE px.

    Too many bytes or pixels raise TooLarge (413); something that is no image raises
    ValidationFailed (400). ``name`` is the upload's file name, for the message.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    label = f"照片 {name}" if name else "照片"
    if len(data) > MAX_PHOTO_BYTES:
        raise TooLarge(
            _(
                "%(label)s太大：每张最大 %(mb)s MB",
                label=label,
                mb=MAX_PHOTO_BYTES // (1024 * 1024),
            )
        )
    if not data:
        raise ValidationFailed(_("%(label)s是空文件", label=label))
    pixels = parsing.image_pixels(data)
    if pixels is None:
        raise ValidationFailed(_("%(label)s不是图片（请上传 JPEG 或 PNG 照片）", label=label))
    if pixels > MAX_PHOTO_PIXELS:
        raise TooLarge(
            _(
                "%(label)s像素太多：最多 %(n)s 百万像素",
                label=label,
                n=MAX_PHOTO_PIXELS // 1_000_000,
            )
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("JPEG", "PNG", "WEBP"):
                raise ValidationFailed(
                    _("%(label)s的格式不支持（请上传 JPEG 或 PNG 照片）", label=label)
                )
            upright = ImageOps.exif_transpose(image)
            rgb = upright.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ValidationFailed(_("%(label)s已损坏，无法读取", label=label)) from exc
    rgb.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # A new image object carries no info dict: nothing of the original's EXIF, XMP or ICC.
    clean = Image.new("RGB", rgb.size)
    clean.paste(rgb)
    clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    jpeg = out.getvalue()
    return Photo(jpeg, hashlib.sha256(jpeg).hexdigest(), clean.width, clean.height)


def folder() -> str:
    """The evidence folder under this app's instance folder."""
    return os.path.join(current_app.instance_path, *FOLDER)


def path_for(sha256: str) -> str:
    """Where the photo with this hash is stored."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise NotFound(_("没有找到该照片"))
    return os.path.join(folder(), sha256[:2], f"{sha256}.jpg")


def store(photo: Photo) -> str:
    """Write the photo under its hash (once; temp file, fsync, rename) and return its path."""
    path = path_for(photo.sha256)
    if os.path.exists(path):
        return path
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(photo.data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    logger.info("evidence photo %s stored (%s bytes)", photo.sha256, photo.size)
    return path


def rows_for(photos: list[Photo]) -> list[ProposalPhoto]:
    """The rows of a proposal's stored photos, in the order they were sent."""
    return [
        ProposalPhoto(
            position=n,
            sha256=p.sha256,
            size=p.size,
            width=p.width,
            height=p.height,
            content_type=CONTENT_TYPE,
        )
        for n, p in enumerate(photos)
    ]


def read(row: ProposalPhoto) -> bytes:
    """A stored photo's bytes (NotFound when its file is gone, e.g. a partial restore)."""
    try:
        with open(path_for(row.sha256), "rb") as fh:
            return fh.read()
    except FileNotFoundError as exc:
        raise NotFound(_("照片文件不见了：请从备份恢复 instance/files/evidence")) from exc


__all__ = [
    "MAX_PHOTOS",
    "MAX_PHOTO_BYTES",
    "MAX_PHOTO_PIXELS",
    "Photo",
    "folder",
    "path_for",
    "prepare",
    "read",
    "rows_for",
    "store",
]
