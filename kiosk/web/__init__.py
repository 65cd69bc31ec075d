"""The pages: login, the counter, the resident self-service screen and rule administration."""

from flask import Flask


def register_web(app: Flask) -> None:
    """Register every page blueprint."""
    from kiosk.web.admin import bp as admin_bp
    from kiosk.web.auth import bp as auth_bp
    from kiosk.web.counter import bp as counter_bp
    from kiosk.web.scanner import bp as scanner_bp
    from kiosk.web.selfservice import bp as self_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(counter_bp)
    app.register_blueprint(self_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(scanner_bp)

    from kiosk.web.nav import register_nav

    register_nav(app)
