"""Server benchmark: cold start to first response, and memory with the camera thread running.

    python bench/server.py [--runs 5] [--settle 10] [--no-write]

Both figures are taken beside a baseline started the same way in the same run:
- the baseline is a bare Flask app answering one route through waitress, in a fresh
  interpreter (what any Flask kiosk pays before doing anything of its own);
- jifen is ``jifen serve`` on a fresh instance folder holding the demo village (SQLite), with
  the camera configured on a looping card video so the camera thread and the decoder worker
  run for the whole measurement.
Cold start is the time from spawning the process to the first successful answer (the login
page for jifen, ``/`` for the baseline); memory is the process's resident set (VmRSS) after
the counter page, the self-service page and a scan have been served and the camera has run for
``--settle`` seconds, and its peak (VmHWM). Issue 7's goals: ≤ 2 s and ≤ 150 MB.
Results go to docs/server-benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

BIN = os.path.dirname(sys.executable)
BASELINE = """
import sys, waitress
from flask import Flask
app = Flask("baseline")
@app.get("/")
def index():
    return "ok"
waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=8)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> float:
    """Seconds until ``url`` answers 200 (polling every 5 ms)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - start
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.005)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def memory(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, kb, _unit = line.split()
                values[key[:-1]] = int(kb) / 1024
    return values["VmRSS"], values["VmHWM"]


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def prepare_instance(folder: str) -> dict[str, str]:
    """A fresh instance folder with the demo village and a camera on a looping card video."""
    from tests.scan_images import write_card_video

    video = write_card_video(os.path.join(folder, "card.avi"))
    with open(os.path.join(folder, "jifen.cfg"), "w") as f:
        f.write(f"JIFEN_CAMERA = {{'source': {video!r}, 'interval': 0.2, 'backoff': 0.1}}\n")
    env = dict(os.environ, JIFEN_INSTANCE=folder)
    env.pop("DATABASE_URL", None)
    # A kiosk restarts with its modules' bytecode cached, as the installed libraries (and the
    # baseline) have theirs: a shell that forbids writing it would make every start compile
    # jifen's own modules from source.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    jifen = os.path.join(BIN, "jifen")
    subprocess.run([jifen, "init"], env=env, check=True, capture_output=True)
    subprocess.run([jifen, "demo"], env=env, check=True, capture_output=True)
    return env


def run_baseline(port: int) -> tuple[float, float, float, subprocess.Popen]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    proc = subprocess.Popen([sys.executable, "-c", BASELINE, str(port)], env=env)
    seconds = wait_for(f"http://127.0.0.1:{port}/", proc)
    rss, peak = memory(proc.pid)
    return seconds, rss, peak, proc


def run_jifen(env: dict[str, str], port: int, settle: float) -> tuple[float, float, float]:
    jifen = os.path.join(BIN, "jifen")
    proc = subprocess.Popen(
        [jifen, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        seconds = wait_for(f"http://127.0.0.1:{port}/login", proc)
        for path in ("/login", "/self", "/counter"):
            # (the counter redirects to the login page: served all the same)
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5).read()
        time.sleep(settle)
        rss, peak = memory(proc.pid)
        return seconds, rss, peak
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--settle", type=float, default=10.0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        env = prepare_instance(folder)
        # One start of each, not counted, as after installing: it writes the bytecode caches.
        stop(run_baseline(free_port())[3])
        run_jifen(env, free_port(), 0)
        for _ in range(args.runs):
            port = free_port()
            b_sec, b_rss, b_peak, b_proc = run_baseline(port)
            stop(b_proc)
            j_sec, j_rss, j_peak = run_jifen(env, free_port(), args.settle)
            rows.append((b_sec, b_rss, b_peak, j_sec, j_rss, j_peak))
            print(
                f"baseline {b_sec:.2f} s {b_rss:.0f} MB · jifen {j_sec:.2f} s "
                f"{j_rss:.0f} MB (peak {j_peak:.0f} MB)"
            )

    def med(i: int) -> float:
        return statistics.median(r[i] for r in rows)

    load = os.getloadavg()[0]
    lines = [
        "# Server benchmarks",
        "",
        "Written by `python bench/server.py`; jifen and its baseline started the same way in the "
        "same run (medians of the runs).",
        "",
        f"- run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.runs} runs, camera running "
        f"{args.settle:.0f} s before memory is read, load average {load:.1f} at the end",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        f"- Python {platform.python_version()}",
        "",
        "| figure | jifen | baseline (bare Flask + waitress) | ratio | goal |",
        "| --- | --- | --- | --- | --- |",
        f"| cold start to first response | {med(3):.2f} s | {med(0):.2f} s | "
        f"{med(3) / med(0):.1f}× | ≤ 2 s |",
        f"| resident memory (VmRSS), camera running | {med(4):.0f} MB | {med(1):.0f} MB | "
        f"{med(4) / med(1):.1f}× | ≤ 150 MB |",
        f"| peak memory (VmHWM) | {med(5):.0f} MB | {med(2):.0f} MB | {med(5) / med(2):.1f}× | |",
        "",
        "jifen's process holds the camera thread (cv2.VideoCapture on a looping 640×480 card "
        "video), the decoder worker (zxing-cpp), SQLAlchemy with the demo village's SQLite "
        "database, and has served the login, self-service and counter pages. Both start with "
        "their bytecode cached (one uncounted start each first), as a kiosk restarts.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        with open(os.path.join(ROOT, "docs", "server-benchmarks.md"), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
