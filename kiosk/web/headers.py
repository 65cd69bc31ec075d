"""Security headers on every answer: pages, the JSON API, static files and error pages.

The pages run offline with their own scripts and style sheets, so the Content-Security-Policy
allows only this server: no inline script, no inline event handler (``onclick=``), no
``javascript:`` URL, no ``eval``, and no inline style. Data a script needs travels in
``data-*`` attributes or in ``<script type="application/json">`` blocks, which the browser
never runs. Camera frames are drawn from a ``MediaStream`` (not a URL) and posted back to this
server, hence ``connect-src 'self'``; ``data:`` and ``blob:`` images stay allowed for pictures
a script builds.

Nothing in jifen is shown inside a frame (the village hall screen opens /notice/screen as a
page of its own), so framing is refused both ways: ``frame-ancestors 'none'`` for today's
browsers and ``X-Frame-Options: DENY`` for old ones, as a tablet's browser may be.
"""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Same-origin navigations keep their referrer (nothing here needs it, but it costs
    # nothing); a link to another site never learns a household's page address.
    "Referrer-Policy": "same-origin",
    # The tablet scanner, the stocktake page and the phone page use this server's camera; the
    # phone page (/m/) asks for the location when the recorder ticks 附上手机定位; nothing
    # uses the microphone.
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=(self)",
}


def add_security_headers(response: Response) -> Response:
    """Set the security headers a view has not set itself."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def register_headers(app: Flask) -> None:
    """Add the security headers to every answer, including error pages and static files."""
    app.after_request(add_security_headers)
