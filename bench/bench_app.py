"""How fast the app answers, against a baseline tree started alternately in the same run.

Run: python bench/bench_app.py [--base a42369c] [--rounds 2] [--repeats 3]
The baseline is the app at a commit (`git archive <commit>`, default a42369c: the code path
before the start-up work); it and this tree are started in turn (B, T, T, B, ...), each as a
real `streamlit run app.py` on a free port of 127.0.0.1 with an empty result cache, and are
talked to over the websocket as a browser tab would (tests/st_charts.py). For each figure it
prints the baseline, this tree, their ratio (this / baseline, the median of the rounds) and the
load average. Figures:
- cold start: seconds from launching the server to Home's script finishing for a first tab;
- Home's device line: seconds after that until a new tab's Home names the device (this tree
  loads torch in the background after Home has drawn; the baseline loads it before);
- Toy first chart / first run, right after Home: a new tab on the Toy page (a first visit
  trains both nets): seconds to its first chart and to the end of its run;
- the same on a second server, once Home names the device (a visitor who read Home first);
- each page's first run in a new tab and the median of `--repeats` reruns (first server);
- Home's own imports, in a fresh interpreter through AppTest under `python -X importtime`
  (warm-up off): seconds spent importing torch, scipy and scikit-learn (each family's modules'
  own times, summed).
Figures depend on the machine's load: quote it with them (`uptime`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from st_charts import ChartRun, chart_run  # noqa: E402

PAGES = {"": "Home", "toy": "Toy task", "vis3d": "CNN-Vis3D", "overlap": "Overlap", "layer": "Layer explorer"}
PAGES |= {"paper": "Paper", "spherenet": "SphereNet", "prototypes": "Prototypes"}
HEAVY = ("torch", "scipy", "sklearn")
QUERY = {"vis3d": "preset=fast"}  # the quick preset trains on a first visit; this measures the page
DEVICE_WORDS = ("**Device:** CPU", "**Device:** CUDA", "**Device:** Apple")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def baseline_tree(commit: str, into: Path) -> Path:
    """The project at commit, unpacked from `git archive` (tracked files only)."""
    data = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


class Server:
    """`streamlit run app.py` in a tree, with a cache of its own; timed from launch."""

    def __init__(self, tree: Path) -> None:
        self.tree, self.url = tree, f"http://127.0.0.1:{free_port()}"
        self.cache = tempfile.TemporaryDirectory()
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SPH_VIZ_WARMUP")}
        env["SPH_VIZ_CACHE_DIR"] = self.cache.name
        cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
        cmd += ["--server.port", self.url.rsplit(":", 1)[1], "--server.address", "127.0.0.1"]
        cmd += ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
        self.launched = time.monotonic()
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.proc = subprocess.Popen(cmd, cwd=tree, env=env, **quiet)

    def run(self, page: str = "", query: str = "") -> ChartRun:
        return asyncio.run(chart_run(self.url, page, query, timeout=600))

    def cold_home(self) -> tuple[float, ChartRun]:
        """Seconds from launch to Home's run finishing for the first tab, and that run."""
        while True:
            try:
                run = self.run()
                return time.monotonic() - self.launched, run
            except (OSError, websockets.exceptions.InvalidHandshake):
                if self.proc.poll() is not None:
                    raise SystemExit(f"the server in {self.tree} exited") from None
                time.sleep(0.05)  # polling for the port to open

    def until_device_named(self) -> float:
        """Seconds until a new tab's Home shows the device line (polled, new tab each time)."""
        t0 = time.monotonic()
        while not any(t.startswith(DEVICE_WORDS) for t in self.run().texts):
            time.sleep(0.2)  # polling interval, as a reader would reload
        return time.monotonic() - t0

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.cache.cleanup()


def page_times(server: Server, page: str, repeats: int) -> tuple[float, float]:
    """A page's first run in a new tab and the median of reruns in that tab (server time)."""

    async def go() -> tuple[float, float]:
        from st_client import Session

        async with Session(server.url) as s:
            query = QUERY.get(page, "")
            _, first = await s.run(page, query, timeout=600)
            again = [(await s.run(page, query, timeout=600))[1] for _ in range(repeats)]
        return first, statistics.median(again)

    return asyncio.run(go())


def home_imports(tree: Path) -> dict[str, float]:
    """Seconds Home's run spends importing each heavy module (fresh interpreter, warm-up off)."""
    code = "from streamlit.testing.v1 import AppTest\nAppTest.from_file('app.py', default_timeout=300).run()"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"SPH_VIZ_WARMUP": "0"}
    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            cwd=tree,
            env=env | {"SPH_VIZ_CACHE_DIR": cache},
            capture_output=True,
            text=True,
            check=True,
        )
    spent: dict[str, float] = {}
    for line in out.stderr.splitlines():  # "import time: self [us] | cumulative | imported package"
        parts = line.removeprefix("import time:").split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        family = parts[2].strip().split(".")[0]
        if family in HEAVY:  # each module's own time, so nothing is counted twice
            spent[family] = spent.get(family, 0.0) + int(parts[0]) / 1e6
    return spent


def measure(tree: Path, repeats: int, pages: bool) -> dict[str, float]:
    """One server right after Home, one after Home names the device: the figures of one tree."""
    fig: dict[str, float] = {}
    server = Server(tree)
    try:
        fig["cold start to Home rendered"], home = server.cold_home()
        fig["cold start to Home's first chart"] = fig["cold start to Home rendered"] - home.finished
        fig["cold start to Home's first chart"] += home.first_chart
        toy = server.run("toy")
        fig["Toy first chart, right after Home"] = toy.first_chart
        fig["Toy first run, right after Home"] = toy.finished
        if pages:
            for page, name in PAGES.items():
                fig[f"{name}: first run"], fig[f"{name}: rerun"] = page_times(server, page, repeats)
    finally:
        server.close()
    server = Server(tree)
    try:
        server.cold_home()
        fig["Home names the device, after Home rendered"] = server.until_device_named()
        toy = server.run("toy")
        fig["Toy first chart, after Home named the device"] = toy.first_chart
        fig["Toy first run, after Home named the device"] = toy.finished
    finally:
        server.close()
    return fig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", "--baseline", dest="baseline", default="a42369c", help="the baseline commit")
    ap.add_argument("--rounds", type=int, default=2, help="servers per tree (alternating)")
    ap.add_argument("--repeats", type=int, default=3, help="reruns per page")
    args = ap.parse_args()
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"baseline": baseline_tree(args.baseline, Path(tmp)), "this tree": ROOT}
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for r in range(args.rounds):
            order = list(trees) if r % 2 == 0 else list(trees)[::-1]
            for name in order:
                runs[name].append(measure(trees[name], args.repeats, pages=True))
                loads.append(os.getloadavg()[0])
        imports = {name: home_imports(tree) for name, tree in trees.items()}
    print(f"load average (1 min) during the run: {min(loads):.1f} to {max(loads):.1f}")
    print(f"baseline: {args.baseline}; {args.rounds} server(s) per tree, alternating; medians")
    print(f"{'figure (seconds)':<48} {'baseline':>9} {'now':>9} {'ratio':>7}")
    for key in runs["this tree"][0]:
        base = statistics.median(f[key] for f in runs["baseline"] if key in f)
        now = statistics.median(f[key] for f in runs["this tree"] if key in f)
        print(f"{key:<48} {base:>9.2f} {now:>9.2f} {now / base:>7.2f}")
    for name, spent in imports.items():
        shown = ", ".join(f"{m} {spent[m]:.2f} s" for m in HEAVY if m in spent) or "none"
        print(f"Home's own imports of torch/scipy/sklearn ({name}): {shown}")


if __name__ == "__main__":
    main()
