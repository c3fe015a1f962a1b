"""Server time of each CNN-Vis3D (or Overlap) page rerun per widget, 10,000 test points: this tree
vs a baseline commit.

Run: python bench/bench_vis3d_page.py [--page vis3d|overlap] [--base a42369c] [--rounds 7]
     [--heads spherized,projected] [--cache DIR]
Extracts the baseline commit (`git archive`) into a temporary folder and starts one worker process
per tree. Each worker opens the page through Streamlit's AppTest on a spherized head trained on the
bundled MNIST (600 images, 1 epoch; its test set is the 10,000 points shown) from a cache both share,
then, on command, moves one widget and times the rerun (`AppTest.run()`, the script's run from the
new widget state to its last element). The parent alternates the two workers widget by widget,
swapping which goes first each round, and prints per widget the median seconds of each, the ratio
(this tree / baseline) and the machine's load.

Why AppTest and not a real server over the websocket: the server's share of a rerun is the script
run (figures, specs, protobufs), which AppTest runs in the same ScriptRunner; moving a widget
needs the widget's state sent back, which AppTest does by key and a headless websocket client
(tests/st_client.py) cannot. Not included: sending the ~2 MB of specs and the browser's drawing.
AppTest reruns the whole script for a widget inside a fragment (where a browser reruns only the
fragment), so fragment widgets are timed as full reruns here: an upper bound.

`--page overlap`: the Overlap page on the CNN-Vis3D bottleneck of the same heads (trained there
with its Train button when the cache has none); τ moved between two values (statistics cached
after the first time), τ set to a value not seen before (statistics computed: both heads'
overlap counts on 10,000 points), the inspected head, the overlapping group and the sample whose
neighbours are shown.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from sph_viz.experiments.table3 import TAUS  # noqa: E402

QUERY = {"preset": "quick", "epochs": "1", "max_samples": "600"}
# Widget moves: (name, what it does); each worker knows its own tree's keys. A move alternates
# between two values so every timed rerun changes something.
WIDGETS = (
    "sample",
    "neighbours k",
    "confusion cell",
    "map box",
    "replay snapshot",
    "head",
    "side by side",
    "camera",
)
OVERLAP_WIDGETS = ("tau", "tau (new value)", "head", "group", "neighbour sample")
FRESH_TAUS = iter(t for t in TAUS if t not in (1e-6, 3e-6))  # one never-seen τ per move
KEYS = {  # the baseline's keys (a42369c: one tab per head, keys per head) and this tree's
    "base": {"sample": "vis3d_sample_spherized", "k": "vis3d_nn_k_spherized", "cell": "vis3d_cell_spherized"},
    "new": {"sample": "vis3d_sample", "k": "vis3d_k", "cell": "vis3d_cell"},
}


# ---------------------------------------------------------------- worker (one per tree)


def worker(tree: Path, kind: str, heads: str, page: str = "vis3d") -> None:
    """Open the page in `tree`, then answer one command per line with the rerun's seconds."""
    os.chdir(tree)
    sys.path.insert(0, str(tree))
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(tree / "app.py"), default_timeout=900)
    at.run()
    if page == "overlap":
        overlap_worker(at, heads)
        return
    at.session_state["vis3d_data"] = str(ROOT / "data" / "mnist")  # one folder: one cache key for both
    at.query_params.update({**QUERY, "heads": heads})
    at.switch_page("pages/vis3d.py").run()
    if "vis3d_job" in at.session_state:  # first use of the cache: train (both trees share it)
        at.session_state["vis3d_job"].join(900)
        at.run()
    keys = KEYS[kind]
    res = next(r for r in at.session_state["mnist_memo"].values() if r.config["model"]["head"] == "spherized")
    assert len(res.labels) == 10_000, len(res.labels)
    from sph_viz.analysis.confusion import compute_confusion, nonempty_cells

    arrow = " → " if kind == "base" else "-"
    cells = [
        f"{t}{arrow}{p}" for t, p, _ in nonempty_cells(compute_confusion(res.labels, res.predictions))[:2]
    ]
    box = box_selection(at)
    if kind == "new":
        at.toggle(key="vis3d_replay_spherized").set_value(True).run()  # the replay is drawn on request
    print(json.dumps({"ready": True, "selected": len(box["selection"]["points"])}), flush=True)
    flip = 0
    for line in sys.stdin:
        name = line.strip()
        flip ^= 1
        if not move(at, name, flip, kind, keys, cells, box, several_heads="," in heads):
            print(json.dumps({"seconds": None}), flush=True)  # no such widget in this tree
            continue
        t0 = time.perf_counter()
        at.run()
        seconds = time.perf_counter() - t0
        errors = [e.message for e in at.exception]
        if name in ("head", "side by side"):  # back to one head, spherized (untimed), for the others
            at.radio(key="vis3d_view").set_value("one").run()
            at.radio(key="vis3d_head_shown").set_value("spherized").run()
            at.toggle(key="vis3d_replay_spherized").set_value(True).run()  # a head's replay starts off
        print(json.dumps({"seconds": seconds, "errors": errors[:1]}), flush=True)
    if "vis3d_job" in at.session_state:
        at.session_state["vis3d_job"].stop()


def move(
    at, name: str, flip: int, kind: str, keys: dict, cells: list, box: dict, several_heads: bool
) -> bool:
    """Set one widget to one of two values (by flip), as a browser would; False if the tree lacks it."""
    if name == "sample":
        at.number_input(key=keys["sample"]).set_value(100 + flip)
    elif name == "neighbours k":
        at.slider(key=keys["k"]).set_value(6 + flip)
    elif name == "confusion cell":
        at.selectbox(key=keys["cell"]).set_value(cells[flip])
    elif name == "map box":
        at.session_state["vis3d_map_spherized"] = box if flip else EMPTY
    elif name == "replay snapshot":
        at.select_slider(key="vis3d_snap_spherized").set_value(flip)  # snapshot 0 or 1
    elif kind == "base" or (name in ("head", "side by side") and not several_heads):
        return False
    elif name == "head":
        at.radio(key="vis3d_head_shown").set_value("projected")
    elif name == "side by side":
        at.radio(key="vis3d_view").set_value("side-by-side")
    elif name == "camera":
        eye = {"x": 1.5 + flip / 10, "y": -1.0, "z": 0.8}
        camera = {"eye": eye, "center": {"x": 0, "y": 0, "z": 0}, "up": {"x": 0, "y": 0, "z": 1}}
        at.session_state["vis3d_camera_sync"] = {"camera": camera}
    else:
        raise SystemExit(f"unknown widget {name!r}")
    return True


def overlap_worker(at, heads: str) -> None:
    """The Overlap page on the CNN-Vis3D bottleneck: train what the cache lacks, then time moves."""
    at.query_params.update({**QUERY, "heads": heads, "layer": "vis3d"})
    at.switch_page("pages/overlap.py").run()
    if [b for b in at.button if b.key == "overlap_train"]:
        at.button(key="overlap_train").click().run()
        at.session_state["overlap_job"].join(900)
        at.run()
    assert not at.exception, at.exception
    print(json.dumps({"ready": True, "selected": 0}), flush=True)
    flip = 0
    for line in sys.stdin:
        name = line.strip()
        flip ^= 1
        if name == "tau":
            at.select_slider(key="overlap_tau").set_value(1e-6 if flip else 3e-6)
        elif name == "tau (new value)":
            at.select_slider(key="overlap_tau").set_value(next(FRESH_TAUS))
        elif name == "head":
            at.selectbox(key="overlap_head").set_value(heads.split(",")[flip % len(heads.split(","))])
        elif name == "group":
            box = next(b for b in at.selectbox if (b.key or "").startswith("overlap_group_"))
            box.set_value(flip if len(box.options) > 1 else 0)
        elif name == "neighbour sample":
            next(n for n in at.number_input if (n.key or "").startswith("overlap_nn_")).set_value(100 + flip)
        else:
            raise SystemExit(f"unknown widget {name!r}")
        t0 = time.perf_counter()
        at.run()
        seconds = time.perf_counter() - t0
        if name == "tau (new value)":  # back to a τ with groups, untimed
            at.select_slider(key="overlap_tau").set_value(1e-6).run()
        print(json.dumps({"seconds": seconds, "errors": [e.message for e in at.exception][:1]}), flush=True)


EMPTY = {"selection": {"points": [], "point_indices": [], "box": [], "lasso": []}}


def box_selection(at) -> dict:
    """What a browser sends for a box over the map's left half: every point of the map inside it."""
    import base64

    import numpy as np

    spec = next(json.loads(el.proto.spec) for el in at.get("plotly_chart") if "map of" in el.proto.spec)
    points = []
    for curve, trace in enumerate(spec["data"]):
        x = np.frombuffer(base64.b64decode(trace["x"]["bdata"]), trace["x"]["dtype"])
        cd = trace["customdata"]
        ids = np.frombuffer(base64.b64decode(cd["bdata"]), cd["dtype"]).reshape(len(x), -1)[:, 0]
        for k in np.flatnonzero(x < np.median(x)):
            row = {"0": float(ids[k]), "1": 0, "2": 0, "3": 0}
            points.append({"curve_number": curve, "point_index": int(k), "customdata": row})
    return {
        "selection": {
            "points": points,
            "point_indices": [p["point_index"] for p in points],
            "box": [],
            "lasso": [],
        }
    }


# ---------------------------------------------------------------- parent: alternate the two trees


class Worker:
    def __init__(self, tree: Path, kind: str, cache: str, heads: str, page: str) -> None:
        env = {**os.environ, "SPH_VIZ_CACHE_DIR": cache, "PYTHONPATH": str(tree)}
        cmd = [
            sys.executable,
            str(ROOT / "bench" / "bench_vis3d_page.py"),
            "--worker",
            str(tree),
            kind,
            heads,
            page,
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self.kind = kind

    def ask(self, line: str) -> dict:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.read()

    def read(self) -> dict:
        while True:
            out = self.proc.stdout.readline()
            if not out:
                raise SystemExit(f"the {self.kind} worker ended")
            if out.startswith("{"):
                return json.loads(out)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="a42369c", help="the baseline commit")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument(
        "--heads",
        default="spherized,projected",
        help="heads trained and shown (the baseline draws every head's tab on each rerun)",
    )
    ap.add_argument(
        "--cache", help="a result cache folder to keep the two trained heads in (default: temporary)"
    )
    ap.add_argument("--page", choices=("vis3d", "overlap"), default="vis3d")
    ap.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(Path(args.worker[0]), args.worker[1], args.worker[2], args.worker[3])
        return
    widgets = OVERLAP_WIDGETS if args.page == "overlap" else WIDGETS
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        archive = subprocess.run(
            ["git", "archive", args.base], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        cache = args.cache or str(Path(tmp) / "cache")
        load0 = os.getloadavg()[0]
        new = Worker(
            ROOT, "new", cache, args.heads, args.page
        )  # trains the two heads once (the baseline shares the cache)
        print(f"this tree ready ({new.read()['selected']} points in the map box)", flush=True)
        old = Worker(base, "base", cache, args.heads, args.page)
        print(f"baseline {args.base} ready ({old.read()['selected']} points in the map box)", flush=True)
        times = {(w, kind): [] for w in widgets for kind in ("base", "new")}
        for r in range(args.rounds):
            for w in widgets:
                for wk in (old, new) if r % 2 == 0 else (new, old):
                    answer = wk.ask(w)
                    if answer.get("errors"):
                        raise SystemExit(f"{wk.kind} {w}: {answer['errors'][0]}")
                    if answer["seconds"] is not None:
                        times[(w, wk.kind)].append(answer["seconds"])
        old.close()
        new.close()
        load1 = os.getloadavg()[0]
    title = "Overlap page (CNN-Vis3D bottleneck)" if args.page == "overlap" else "CNN-Vis3D page"
    print(f"\n{title}, heads {args.heads}, 10,000 test points; median of {args.rounds} reruns per widget")
    print(f"load average {load0:.1f} at the start, {load1:.1f} at the end; {os.cpu_count()} CPUs")
    print(f"{'widget':<18} {'baseline s':>11} {'this tree s':>12} {'ratio':>7}")
    for w in widgets:
        b, n = times[(w, "base")], times[(w, "new")]
        if not n:  # a widget this configuration does not have (one head: no head choice)
            continue
        base = f"{statistics.median(b):.3f}" if b else "—"
        mn = statistics.median(n)
        ratio = f"{mn / statistics.median(b):.2f}" if b else "—"
        print(f"{w:<18} {base:>11} {mn:>12.3f} {ratio:>7}")


if __name__ == "__main__":
    main()
