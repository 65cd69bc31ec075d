"""Sending generated files (XLSX workbooks, PDFs) from the pages."""

from __future__ import annotations

import io

from flask import Response, send_file

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def send_xlsx(data: bytes, filename: str) -> Response:
    """An .xlsx download; ``filename`` may be Chinese (sent per RFC 6266/5987)."""
    return send_file(
        io.BytesIO(data), mimetype=XLSX_MIME, as_attachment=True, download_name=filename
    )
