"""Message catalogues: compile each ``messages.po`` to the ``messages.mo`` Flask-Babel reads.

The compiled ``.mo`` files are build artefacts and are not kept in git; the app compiles them at
start whenever one is missing or older than its ``.po``. Several kiosk processes may start at
once, so each writes a temporary file beside the target and renames it into place: a reader
sees either the old catalogue or the new one, never half a file.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

logger = logging.getLogger(__name__)


def ensure_compiled(translations_dir: str | os.PathLike[str]) -> list[Path]:
    """Compile every ``<locale>/LC_MESSAGES/*.po`` whose ``.mo`` is missing or stale; return those."""
    compiled: list[Path] = []
    for po_path in sorted(Path(translations_dir).glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        try:
            _compile(po_path, mo_path)
        except OSError:
            # A read-only install keeps whatever catalogue it has (or shows the Chinese source
            # strings) rather than refusing to start the counter.
            logger.warning("cannot compile %s", po_path, exc_info=True)
            continue
        compiled.append(mo_path)
        logger.info("compiled %s", mo_path)
    return compiled


def _compile(po_path: Path, mo_path: Path) -> None:
    locale = po_path.parent.parent.name
    with po_path.open("rb") as f:
        catalog = read_po(f, locale=locale)
    fd, tmp = tempfile.mkstemp(prefix=".messages-", suffix=".mo.tmp", dir=mo_path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            # Fuzzy entries are left out, as pybabel compile does: a guess is not a translation.
            write_mo(f, catalog, use_fuzzy=False)
        os.chmod(tmp, 0o644)
        os.replace(tmp, mo_path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
