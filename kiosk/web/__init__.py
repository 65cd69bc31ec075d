"""The pages: login, the counter, and the resident self-service screen."""

from flask import Flask


def register_web(app: Flask) -> None:
    """Register every page blueprint."""
