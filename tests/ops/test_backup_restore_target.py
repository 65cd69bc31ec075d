"""A restore onto SQLite needs the live database's file: without a path it is refused, not
attempted (sqlite3 cannot copy into "no file")."""

import pytest

from kiosk.backup import BackupFailed, _sqlite_replace


@pytest.mark.parametrize("live", [None, ""])
def test_sqlite_replace_refuses_a_database_without_a_path(tmp_path, live):
    restored = tmp_path / "restored.sqlite3"
    restored.write_bytes(b"")
    with pytest.raises(BackupFailed, match="SQLite 文件的路径"):
        _sqlite_replace(str(restored), live)
