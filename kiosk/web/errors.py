"""Error handling in one place: domain errors become JSON for the API and a page for people."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from kiosk.errors import DomainError
from kiosk.messages import _

# Werkzeug's own errors, in the request's language like the domain's (rendered with str()).
_HTTP_MESSAGES = {
    400: ("bad_request", _("请求内容不正确")),
    401: ("unauthorized", _("请先登录")),
    403: ("forbidden", _("没有权限进行此操作")),
    404: ("not_found", _("没有找到")),
    405: ("method_not_allowed", _("不支持该操作")),
    413: ("too_large", _("内容太大")),
    500: ("server_error", _("系统出错了，请稍后再试")),
}
_CSRF_MESSAGE = _("页面已过期，请刷新后重试")


# Headers an HTTP error keeps on its own answer (405 says which methods the URL allows).
_KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _size(n: int) -> str:
    """A byte limit as people say it: 1 MB, 64 KB."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.0f} MB"
    return f"{max(1, n // 1024)} KB"


def too_large_message() -> str:
    """What a 413 says: that the file or request is too large, and the limit."""
    limit = request.max_content_length
    if limit is None:
        return gettext("文件或请求内容太大")
    return gettext("文件或请求内容太大：最大 %(size)s", size=_size(limit))


def register(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        # A refusal that knows how long to wait (kiosk.scan_guard) says it in Retry-After too.
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after else {}
        if _wants_json():
            return jsonify(exc.to_dict()), exc.status, headers
        page = render_template("error.html", code=exc.code, message=exc.message)
        return page, exc.status, headers

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        body = {"error": {"code": "csrf_failed", "message": str(_CSRF_MESSAGE)}}
        if _wants_json():
            return jsonify(body), 400
        return render_template(
            "error.html", code="csrf_failed", message=body["error"]["message"]
        ), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code, text = _HTTP_MESSAGES.get(exc.code or 500, ("http_error", exc.description or ""))
        message = too_large_message() if isinstance(exc, RequestEntityTooLarge) else str(text)
        headers = [(k, v) for k, v in exc.get_headers() if k in _KEPT_HEADERS]
        if _wants_json():
            return jsonify({"error": {"code": code, "message": message}}), exc.code, headers
        return render_template("error.html", code=code, message=message), exc.code, headers

    @app.errorhandler(Exception)
    def server_error(exc: Exception):
        app.logger.exception("unhandled error")
        code, text = _HTTP_MESSAGES[500]
        message = str(text)
        if _wants_json():
            return jsonify({"error": {"code": code, "message": message}}), 500
        return render_template("error.html", code=code, message=message), 500
