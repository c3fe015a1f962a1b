"""How fast the app answers: cold start to Home, each page's first and repeated run, heavy imports.

Run: python bench/bench_app.py [--repeats 3]
Starts a real `streamlit run app.py` on a free port of 127.0.0.1 (empty result cache) and
talks to it over its websocket as a browser tab would (tests/st_client.py). Prints:
- seconds from launching the server to Home's script finishing for a first session;
- for each page, the server time of its first run in a new session and the median of
  `--repeats` reruns in that session (what moving a widget costs, minus the browser);
- which heavy modules (torch, scipy, sklearn) a process holds after rendering Home only.
Figures depend on the machine's load: run it on an idle machine and quote the load with them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from st_client import Session  # noqa: E402

PAGES = {"": "Home", "toy": "Toy task", "vis3d": "CNN-Vis3D", "overlap": "Overlap", "layer": "Layer explorer"}
PAGES |= {"paper": "Paper", "spherenet": "SphereNet", "prototypes": "Prototypes"}
HEAVY = ("torch", "scipy", "sklearn")
QUERY = {"vis3d": "preset=fast"}  # the quick preset trains on a first visit; this measures the page


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def first_home(url: str, t_launch: float, proc: subprocess.Popen) -> float:
    while True:
        try:
            async with Session(url) as s:
                await s.run("", timeout=120)
            return time.monotonic() - t_launch
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("the server exited") from None
            await asyncio.sleep(0.05)  # polling for the port to open


async def page_times(url: str, page: str, repeats: int) -> tuple[float, float]:
    async with Session(url) as s:
        query = QUERY.get(page, "")
        _, first = await s.run(page, query, timeout=600)
        again = [(await s.run(page, query, timeout=600))[1] for _ in range(repeats)]
    return first, statistics.median(again)


def heavy_after_home() -> list[str]:
    code = (
        "import sys\nfrom streamlit.testing.v1 import AppTest\n"
        "AppTest.from_file('app.py', default_timeout=120).run()\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "SPH_VIZ_CACHE_DIR": cache}
        cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
        cmd += ["--server.port", str(port), "--server.address", "127.0.0.1"]
        cmd += ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
        t_launch = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            cold = asyncio.run(first_home(url, t_launch, proc))
            print(f"load average {os.getloadavg()[0]:.1f}; cold start to Home rendered: {cold:.2f} s")
            print(f"{'page':<16} {'first run s':>12} {'rerun s (median)':>18}")
            for page, name in PAGES.items():
                first, again = asyncio.run(page_times(url, page, args.repeats))
                print(f"{name:<16} {first:>12.2f} {again:>18.3f}")
        finally:
            proc.terminate()
            proc.wait(30)
    print(f"heavy modules loaded after rendering Home only: {', '.join(heavy_after_home()) or 'none'}")


if __name__ == "__main__":
    main()
