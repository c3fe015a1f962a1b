"""`python -m sph_viz table3`: the paper's Table 3 on any dataset, mean ± std over seeds."""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path

from sph_viz.experiments.registry import PRESETS
from sph_viz.experiments.specs import make_run_specs
from sph_viz.experiments.table3 import TABLE3_FIELDS
from sph_viz.fields import add_arguments
from sph_viz.overlap import validate_tau
from sph_viz.reports.table3 import COLUMNS, format_row, markdown_table, table3_rows
from sph_viz.results.outputs import atomic_write_bytes, json_safe, write_run
from sph_viz.results.store import ResultStore
from sph_viz.results.sweep import run_sweep

FLAGS = [f for f in TABLE3_FIELDS if f.name not in ("preset", "tau", "seed")]  # --seeds is common


def add_parser(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("table3", parents=[common], help="overlap table at the last layer's input (Table 3)")
    p.add_argument(
        "--data",
        default="mnist",
        help="mnist, fashion-mnist, cifar10:DIR (the binary version) or an IDX folder (default: mnist)",
    )
    p.add_argument("--preset", choices=PRESETS["table3"], default="fast")
    p.add_argument("--tau", type=float, default=1e-6, help="overlap when cosine >= 1 - tau (default 1e-6)")
    p.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="run the missing runs on Ray: a local instance, or the cluster at ADDRESS",
    )
    p.add_argument("--cache", type=Path, help="the result cache folder (default: the user cache)")
    add_arguments(p, FLAGS)
    p.set_defaults(run=run)


def run(args, device, progress=None) -> int:
    validate_tau(args.tau)  # before any training
    values = vars(args)
    names = list(args.operators or next(f.default for f in TABLE3_FIELDS if f.name == "operators"))
    specs = [
        spec
        for seed in args.seeds
        for spec in make_run_specs(
            "table3", {**values, "seed": seed}, names, preset_name=args.preset, dataset=args.data
        ).values()
    ]
    store = ResultStore(args.cache)

    def done(spec, result, cached):
        how = "cached" if cached else f"{result.train.seconds:.1f} s"
        print(
            f"{spec.name} seed {spec.train.seed}: train {result.train_accuracy:.2%}, "
            f"test {result.test_accuracy:.2%} ({how})",
            flush=True,
        )
        if args.out:
            write_run(args.out / f"{spec.name}_seed{spec.train.seed}", result, device=result.train.device)

    results = run_sweep(
        specs,
        store=store,
        device=device,
        use_ray=args.ray is not None,
        ray_address=args.ray or None,
        on_done=done,
        progress=progress,
    )
    runs: dict[str, list] = {}
    for spec, result in zip(specs, results, strict=True):
        runs.setdefault(spec.name, []).append(result)
    rows = table3_rows(runs, tau=args.tau)
    print(
        f"\nTable 3 on {args.data}, tau = {args.tau:g}, seeds {' '.join(map(str, args.seeds))}, {args.preset}"
    )
    print(markdown_table(rows))
    if args.out:
        write_table(
            args.out, rows, {"data": args.data, "tau": args.tau, "seeds": args.seeds, "preset": args.preset}
        )
    return 0


def write_table(out: Path, rows, meta: dict) -> None:
    """table3.csv, table3.json and table3.md beside the runs' folders."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(COLUMNS)
    writer.writerows(format_row(r) for r in rows)
    atomic_write_bytes(out / "table3.csv", buf.getvalue().encode())
    doc = {**meta, "rows": [r.as_dict() for r in rows]}
    atomic_write_bytes(out / "table3.json", json.dumps(json_safe(doc), indent=2).encode())
    atomic_write_bytes(out / "table3.md", markdown_table(rows).encode())
