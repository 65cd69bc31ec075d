"""Many kiosks at once: threads, each with its own app context, session and connection, so
the database's locks are what keep the books right."""

from __future__ import annotations

import threading
from collections.abc import Callable

from kiosk.extensions import db
from kiosk.models import User

KIOSKS = 32


def at_once(app, keeper_id: int, attempt: Callable[[int, User], str]) -> list[object]:
    """Run ``attempt(i, keeper)`` in KIOSKS threads released together; return each result
    (a receipt number) or the exception it raised. Pass plain ids into ``attempt``: the
    threads must not touch the calling test's session objects."""
    barrier = threading.Barrier(KIOSKS, timeout=60)
    results: list[object] = [None] * KIOSKS

    def kiosk(i: int) -> None:
        with app.app_context():
            keeper = db.session.get(User, keeper_id)
            barrier.wait()
            try:
                results[i] = attempt(i, keeper)
            except Exception as exc:  # collected and asserted on by the caller
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(KIOSKS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results
