"""The ``jifen`` command: a Flask CLI group over the same services the pages and API use."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext


def _create_app() -> Flask:
    from kiosk import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """jifen: the village points supermarket kiosk."""


@click.command("check")
@with_appcontext
def check_command() -> None:
    """Verify that every balance equals its entries and every stock its movements."""
    from kiosk.check import run_checks

    problems = run_checks()
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"账目检查发现 {len(problems)} 处问题", err=True)
        sys.exit(1)
    click.echo("账目检查通过：积分余额、库存与流水全部一致")


def register(app: Flask) -> None:
    app.cli.add_command(check_command)
