"""A classroom against a real server: twenty tabs, one queue, shared runs, a clean Ctrl-C.

Twenty sessions open the CNN-Vis3D page over the app's websocket (`st_client`, what a browser
tab sends), ten with one configuration and ten spread over five others; each first visit asks
for training. Checked: one training per distinct configuration (the server's log), every
session of a configuration reads the same result, Home answers new sessions while trainings
run, the server's peak memory, and SIGINT in the middle of a training exits with status 0,
no abort and only whole cache entries. Bounded: small runs, deadlines on every wait. The
figures it measures are printed (`pytest -s`) and quoted in the README.
"""

import asyncio
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from servers import free_port, streamlit_command
from st_client import Session

from sph_viz.results.store import decode_result

ROOT = Path(__file__).resolve().parents[2]
SMALL = "heads=spherized&max_samples=600&epochs=1"
SEEDS = [0] * 10 + [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]  # half the room asks for the same run
ACCURACY = re.compile(r"test accuracy \*\*([\d.]+%)\*\*")


def start_server(cache: Path) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log = cache.parent / "server.log"
    cmd = streamlit_command(port)
    env = {**os.environ, "SPH_VIZ_CACHE_DIR": str(cache), "SPH_VIZ_MAX_TRAININGS": "1"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    return proc, f"http://127.0.0.1:{port}", log


async def until_up(url: str, proc: subprocess.Popen, deadline: float = 60) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            async with Session(url) as s:
                await s.run("", timeout=30)
            return
        except OSError:
            assert proc.poll() is None, "the server exited"
            await asyncio.sleep(0.2)  # polling for the port to open
    pytest.fail("the server did not answer")


async def read_result(url: str, query: str) -> str | None:
    """The test accuracy a tab on this configuration shows now, or None while it trains."""
    async with Session(url) as s:
        texts, _ = await s.run("vis3d", query)
    found = [m.group(1) for t in texts for m in [ACCURACY.search(t)] if m]
    return found[0] if found else None


def trainings(log: Path) -> int:
    """Trainings the server has started: its scheduler logs one line each."""
    return sum(line.startswith("training ") for line in log.read_text().splitlines())


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def classroom(url: str, log: Path) -> dict:
    queries = [f"{SMALL}&seed={s}" for s in SEEDS]
    tabs = [Session(url) for _ in queries]
    for tab in tabs:
        await tab.__aenter__()
    try:  # every student opens the page at once; the tabs stay open (their sessions stay alive)
        first = await asyncio.gather(*(tab.run("vis3d", q) for tab, q in zip(tabs, queries, strict=True)))
        home = []
        for _ in range(5):  # new visitors while the room's trainings run
            async with Session(url) as s:
                home.append((await s.run("", timeout=60))[1])
        results: dict[str, str] = {}
        end = time.monotonic() + 420
        while len(results) < len(set(queries)) and time.monotonic() < end:
            for q in sorted(set(queries) - set(results)):
                if (acc := await read_result(url, q)) is not None:
                    results[q] = acc
            await asyncio.sleep(2)  # a tab's refresh interval (the page's fragments use 2 s)
        every = [await read_result(url, q) for q in queries]  # what each student's page shows
    finally:
        for tab in tabs:
            await tab.__aexit__(None, None, None)
    return {"first": first, "home": home, "results": results, "every": every, "queries": queries}


def test_a_room_of_twenty_sessions(tmp_path, capsys):
    cache = tmp_path / "cache"
    proc, url, log = start_server(cache)
    try:
        asyncio.run(until_up(url, proc))
        out = asyncio.run(classroom(url, log))
        started = trainings(log)
        distinct = set(out["queries"])
        assert len(out["results"]) == len(distinct), "not every configuration finished in time"
        assert started == len(distinct)  # one training per distinct configuration
        assert out["every"] == [out["results"][q] for q in out["queries"]]  # same result for all
        first_texts = [" ".join(t) for t, _ in out["first"]]
        assert any("queue" in t for t in first_texts)  # the later ones were told they wait
        assert all(h < 15 for h in out["home"]), out["home"]  # answered, not stalled (see README)
        rss = peak_rss_mib(proc.pid)
        assert rss < 4096

        # a lesson ends mid-training: Ctrl-C
        async def one_more() -> None:
            async with Session(url) as s:
                await s.run("vis3d", "heads=spherized&max_samples=12000&epochs=2&seed=99")
                end = time.monotonic() + 120
                while time.monotonic() < end and trainings(log) <= len(distinct):
                    await asyncio.sleep(0.2)  # polling the log for the run to start
                proc.send_signal(signal.SIGINT)
                t0 = time.monotonic()
                proc.wait(30)
                out["exit_s"] = time.monotonic() - t0

        asyncio.run(one_more())
        text = log.read_text()
        assert proc.returncode == 0 and "terminate called" not in text, text[-2000:]
        assert "cancelled spherized" in text
        entries = list(cache.glob("*.sphviz"))
        assert len(entries) == len(distinct)  # the interrupted run left nothing behind
        for entry in entries:
            decode_result(entry.read_bytes())  # every entry whole
        with capsys.disabled():
            first_s = [round(s, 2) for _, s in out["first"]]
            print(
                f"\nclassroom: {len(out['queries'])} sessions, {len(distinct)} distinct runs, "
                f"{started} trainings; first page {min(first_s)}-{max(first_s)} s; "
                f"Home during training max {max(out['home']):.2f} s; peak RSS {rss:.0f} MiB; "
                f"exit after SIGINT {out['exit_s']:.1f} s"
            )
    finally:
        if proc.poll() is None:
            proc.kill()
