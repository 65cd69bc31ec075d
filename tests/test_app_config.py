"""Installation config: generated secrets, overridden by the village's jifen.cfg and the env."""

from __future__ import annotations

from kiosk import create_app


def _app(tmp_path, monkeypatch):
    monkeypatch.setenv("JIFEN_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    return create_app()


def test_secrets_are_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("JIFEN_CARD_SECRET", raising=False)
    first = _app(tmp_path, monkeypatch).config["JIFEN_CARD_SECRET"]
    again = _app(tmp_path, monkeypatch).config["JIFEN_CARD_SECRET"]
    assert first == again and len(first) >= 32
    assert (tmp_path / "secrets.cfg").stat().st_mode & 0o077 == 0


def test_jifen_cfg_and_environment_override_the_generated_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("JIFEN_CARD_SECRET", raising=False)
    _app(tmp_path, monkeypatch)
    (tmp_path / "jifen.cfg").write_text("JIFEN_CARD_SECRET = 'shared-by-the-town'\n")
    assert _app(tmp_path, monkeypatch).config["JIFEN_CARD_SECRET"] == "shared-by-the-town"
    monkeypatch.setenv("JIFEN_CARD_SECRET", "from-the-environment")
    assert _app(tmp_path, monkeypatch).config["JIFEN_CARD_SECRET"] == "from-the-environment"


def test_postgres_urls_use_psycopg(tmp_path, monkeypatch):
    monkeypatch.setenv("JIFEN_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgres://u@127.0.0.1:5432/jifen")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@127.0.0.1:5432/jifen"


def test_api_answers_in_readable_utf8(client):
    body = client.post("/api/v1/scan", json={"payload": "x"}).get_data()
    assert "请先登录".encode() in body and b"\\u" not in body
