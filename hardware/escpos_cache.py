"""python-escpos's capability cache in one fixed folder, so no jifen process leaves one behind.

``escpos/capabilities.py`` (python-escpos 3.1) parses its printer database at import and
pickles it into ``ESCPOS_CAPABILITIES_PICKLE_DIR``; without that variable it uses a fresh
``mkdtemp()`` folder, so every process that printed left an empty-looking folder in /tmp and
parsed the database again (about a second on a small board). It even calls ``mkdtemp()`` when
the variable is set (``environ.get(NAME, mkdtemp())`` evaluates its default first), so setting
the variable is not enough: the first import happens here, with ``mkdtemp`` answering the
fixed folder for that moment.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading

ENV = "ESCPOS_CAPABILITIES_PICKLE_DIR"
_lock = threading.Lock()


def pin_capability_cache(folder: str) -> str:
    """Import escpos's capabilities with their cache in ``folder`` (or the folder already named
    by ``ESCPOS_CAPABILITIES_PICKLE_DIR``); the folder in use. Safe to call again."""
    with _lock:
        chosen = os.environ.setdefault(ENV, folder)
        if "escpos.capabilities" in sys.modules:
            return chosen
        os.makedirs(chosen, exist_ok=True)
        real_mkdtemp = tempfile.mkdtemp
        tempfile.mkdtemp = lambda *args, **kwargs: chosen  # type: ignore[assignment]
        try:
            import escpos.capabilities  # noqa: F401
        except ImportError:  # python-escpos missing: printing says so when it is needed
            pass
        finally:
            tempfile.mkdtemp = real_mkdtemp
    return chosen
