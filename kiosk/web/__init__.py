"""The pages: login, the counter, and the resident self-service screen."""

from flask import Flask


def register_web(app: Flask) -> None:
    """Register every page blueprint."""
    from kiosk.web.auth import bp as auth_bp
    from kiosk.web.counter import bp as counter_bp
    from kiosk.web.selfservice import bp as self_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(counter_bp)
    app.register_blueprint(self_bp)
