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

    from kiosk.web.audit import bp as audit_bp
    from kiosk.web.users import bp as users_bp

    app.register_blueprint(audit_bp)
    app.register_blueprint(users_bp)

    from kiosk.web.households import bp as households_bp

    app.register_blueprint(households_bp)

    from kiosk.web.stock import bp as stock_bp

    app.register_blueprint(stock_bp)

    from kiosk.web.stocktake import bp as stocktake_bp

    app.register_blueprint(stocktake_bp)

    from kiosk.web.notice import bp as notice_bp

    app.register_blueprint(notice_bp)

    from kiosk.web.fund import bp as fund_bp

    app.register_blueprint(fund_bp)

    from kiosk.web.monthend import bp as monthend_bp

    app.register_blueprint(monthend_bp)

    from kiosk.web.intake import bp as intake_bp

    app.register_blueprint(intake_bp)

    from kiosk.web.device import bp as device_bp

    app.register_blueprint(device_bp)

    from kiosk.web.phone import bp as phone_bp
    from kiosk.web.phone import report_bp as selfreport_bp

    app.register_blueprint(phone_bp)
    app.register_blueprint(selfreport_bp)

    from kiosk.web.nav import register_nav

    register_nav(app)

    from kiosk.web.headers import register_headers

    register_headers(app)
