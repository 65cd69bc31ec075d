"""The JSON API under /api/v1 (bearer tokens, or the counter's session with its CSRF header)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
