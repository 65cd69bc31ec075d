"""Backups of a village box (备份) and their restore (恢复).

One file per backup holds the database snapshot, the instance folder's irreplaceable files
(secrets, instance config, printer settings, stored files) and a manifest; every backup is
verified after it is written. After each run ``<instance>/backups/status.json`` says when the
last good backup was made, where it and its removable-drive copy went, and the last failure;
:func:`read_status` is how the health page and ``/healthz`` read it.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

BACKUP_DIR_NAME = "backups"
STATUS_FILE_NAME = "status.json"
STATUS_KEYS = (
    "last_good_at",
    "last_good_path",
    "last_copy_path",
    "last_failed_at",
    "last_failed_path",
    "last_error",
)


def status_path(instance_path: str) -> str:
    """Where the backup state of this instance is kept."""
    return os.path.join(instance_path, BACKUP_DIR_NAME, STATUS_FILE_NAME)


def read_status(instance_path: str) -> dict[str, Any]:
    """The last backup run's state: every key of :data:`STATUS_KEYS`, None when unknown.

    ``last_good_at`` / ``last_failed_at`` are ISO-8601 UTC strings; ``last_copy_path`` is the
    copy on a removable drive. A missing or unreadable file gives all None.
    """
    status: dict[str, Any] = dict.fromkeys(STATUS_KEYS)
    try:
        with open(status_path(instance_path), encoding="utf-8") as fh:
            stored = json.load(fh)
    except (OSError, ValueError):
        return status
    if isinstance(stored, dict):
        for key in STATUS_KEYS:
            value = stored.get(key)
            status[key] = value if isinstance(value, str) else None
    return status


def write_status(instance_path: str, **changes: Any) -> dict[str, Any]:
    """Update the backup state atomically (a temp file, then ``os.replace``); the new state."""
    status = read_status(instance_path)
    for key, value in changes.items():
        if key not in STATUS_KEYS:
            raise KeyError(key)
        status[key] = value
    path = status_path(instance_path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".status-", suffix=".json", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(status, fh, ensure_ascii=False, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return status
