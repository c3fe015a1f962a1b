"""The paper's Table 3 from runs: one row per operator, mean ± std over seeds, beside the paper's.

`table3_rows` turns Table-3 runs (`sph_viz.experiments.table3`) into the paper's columns;
`cached_table3_rows` does it for the runs already in the result cache, training nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from models.table3 import HAS_BIAS, OPERATORS_T3, PAPER_TABLE3, ROLES
from sph_viz.experiments.result import ExperimentResult
from sph_viz.experiments.specs import make_run_specs
from sph_viz.overlap import overlap_stats
from sph_viz.reports.format import mean_std, pm


@dataclass(frozen=True)
class Table3Row:
    """One operator's row: each entry (mean, std) over its seeds."""

    operator: str
    role: str
    no_bias: bool
    seeds: tuple[int, ...]
    train_acc: tuple[float, float]  # percent
    test_acc: tuple[float, float]  # percent
    n_err: tuple[float, float]
    n_ovlp: tuple[float, float]
    ratio: tuple[float, float]  # percent; NaN when nothing overlaps in any seed
    n_unavoidable: tuple[float, float]  # errors any one-answer-per-group classifier must make

    def as_dict(self) -> dict:
        return asdict(self)


def table3_rows(runs: dict[str, list[ExperimentResult]], tau: float = 1e-6) -> list[Table3Row]:
    """The paper's columns per operator, mean ± std (population std, like numpy) over the seeds."""
    rows = []
    for op in [o for o in OPERATORS_T3 if o in runs] + [o for o in runs if o not in OPERATORS_T3]:
        results = runs[op]
        stats = [overlap_stats(r.features, r.labels, r.predictions, tau=tau) for r in results]
        rows.append(
            Table3Row(
                operator=op,
                role=ROLES.get(op, "-"),
                no_bias=not HAS_BIAS.get(op, True),
                seeds=tuple(r.config["train"]["seed"] for r in results),
                train_acc=mean_std([100 * r.train_accuracy for r in results]),
                test_acc=mean_std([100 * r.test_accuracy for r in results]),
                n_err=mean_std([s.n_error for s in stats]),
                n_ovlp=mean_std([s.n_overlap for s in stats]),
                ratio=mean_std([100 * s.ratio for s in stats]),
                n_unavoidable=mean_std([s.n_unavoidable_errors for s in stats]),
            )
        )
    return rows


COLUMNS = (
    "Role",
    "Operator",
    "No-bias",
    "Train acc",
    "Test acc",
    "# err",
    "# ovlp",
    "ratio",
    "# unavoidable",
)


def format_row(row: Table3Row) -> list[str]:
    """A row as the paper prints it (accuracies and ratio in %)."""
    return [
        row.role,
        PAPER_TABLE3.get(row.operator, {}).get("label", row.operator),
        "✓" if row.no_bias else "",
        pm(row.train_acc, ".2f"),
        pm(row.test_acc, ".2f"),
        pm(row.n_err, ".1f"),
        pm(row.n_ovlp, ".1f"),
        pm(row.ratio, ".2f"),
        pm(row.n_unavoidable, ".1f"),
    ]


def paper_row(operator: str) -> list[str]:
    """The paper's own CIFAR-10 row for an operator, in the same layout."""
    p = PAPER_TABLE3[operator]
    return [
        ROLES[operator],
        p["label"],
        "✓" if p["no_bias"] else "",
        pm(p["train_acc"], ".2f"),
        pm(p["test_acc"], ".2f"),
        pm(p["n_err"], ".0f"),
        pm(p["n_ovlp"], ".0f"),
        pm(p["ratio"], ".2f"),
        "-",
    ]


def markdown_table(rows: Sequence[Table3Row], *, with_paper: bool = True) -> str:
    """The measured table in Markdown, each row followed by the paper's (CIFAR-10) for reference."""
    lines = ["| " + " | ".join(("source", *COLUMNS)) + " |", "|" + "---|" * (len(COLUMNS) + 1)]
    for row in rows:
        lines.append("| measured | " + " | ".join(format_row(row)) + " |")
        if with_paper and row.operator in PAPER_TABLE3:
            lines.append("| paper (CIFAR-10) | " + " | ".join(paper_row(row.operator)) + " |")
    return "\n".join(lines) + "\n"


def cached_table3_rows(
    *,
    store,
    seeds: Sequence[int] = (0, 1, 2),
    dataset: str = "mnist",
    recipe: str = "fast",
    operators: Sequence[str] = OPERATORS_T3,
    tau: float = 1e-6,
    values: dict | None = None,
) -> list[Table3Row]:
    """The rows of the runs already in `store` (a `ResultStore`) for this recipe; nothing is trained.

    `values` are the overrides the runs were trained with (`dim`, `epochs`, ... as on the command
    line). An operator with no cached seed is left out; the seeds a row covers are in `Table3Row.seeds`.
    """
    runs: dict[str, list[ExperimentResult]] = {}
    for seed in seeds:
        specs = make_run_specs(
            "table3",
            (values or {}) | {"seed": int(seed)},
            list(operators),
            preset_name=recipe,
            dataset=dataset,
        )
        for op, spec in specs.items():
            res = store.load(spec.cache_config)
            if res is not None:
                runs.setdefault(op, []).append(res)
    return table3_rows(runs, tau=tau)
