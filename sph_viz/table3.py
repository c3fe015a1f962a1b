"""The paper's Table 3: overlaps counted at the input of the last layer, one run per (operator, seed).

`run_table3` trains one Table-3 net (a conv trunk, Linear(., d) with no activation, the last
layer replaced by an operator) and keeps the d-D test features (d + 1 on the sphere for
spherization). `table3_rows` turns runs into the paper's columns as mean ± std over seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch

from models.table3 import HAS_BIAS, OPERATORS_T3, PAPER_TABLE3, ROLES, Table3Config, make_table3_model
from sph_viz.datasets import DatasetSpec, load_dataset, normalize, resolve_dataset
from sph_viz.experiments import ExperimentResult, plain_config, probe_indices, seeded
from sph_viz.overlap import overlap_stats
from sph_viz.settings import TrainConfig
from sph_viz.train import Progress, evaluate, train_model

TRAIN_EVAL_SIZE = 10_000  # training images the reported train accuracy is measured on (eval mode)
PROBE_SIZE = 500  # test images snapshotted during training


def _dataset(dataset: str | DatasetSpec) -> DatasetSpec:
    return dataset if isinstance(dataset, DatasetSpec) else resolve_dataset(dataset)


def table3_model_config(operator: str, dataset: str | DatasetSpec, **model: float) -> Table3Config:
    """The Table-3 net for a dataset: the CNN-Vis3D trunk for 28x28 grey, CNN-9 for 32x32 colour."""
    spec = _dataset(dataset)
    trunk = "cnn9" if spec.channels == 3 else "vis3d"
    return Table3Config(
        operator=operator,
        trunk=trunk,
        in_channels=spec.channels,
        image_size=spec.size[0],
        n_classes=spec.n_classes,
        **model,
    )


def table3_config_dict(model: Table3Config, train: TrainConfig, dataset: str | DatasetSpec) -> dict:
    """Everything that determines a Table-3 run (the result-cache key)."""
    spec = _dataset(dataset)
    return plain_config(
        {
            "experiment": "table3",
            "model": asdict(model),
            "train": asdict(train),
            "dataset": {"name": spec.name, "folder": str(spec.folder)},
        }
    )


def build_table3_model(model: dict) -> torch.nn.Module:
    """The untrained net a cached result's config describes."""
    return make_table3_model(Table3Config(**model))


def run_table3(
    model_config: Table3Config,
    train_config: TrainConfig,
    *,
    dataset: str | DatasetSpec = "mnist",
    device: torch.device | str = "cpu",
    on_progress: Callable[[Progress], None] | None = None,
    **callbacks,
) -> ExperimentResult:
    """Train one Table-3 net; features are the test set's last-layer inputs (N, d) or (N, d+1)."""
    spec = _dataset(dataset)
    # crop and flip are the CIFAR recipe; a flipped digit is another digit
    train_config = replace(train_config, augment=train_config.augment and spec.kind == "cifar10")
    train, test = load_dataset(spec)
    x, y = normalize(spec, train.images), train.labels
    x_test, y_test = normalize(spec, test.images), test.labels
    probe_idx = probe_indices(y_test.numpy(), train_config.seed, PROBE_SIZE)
    model = seeded(lambda: make_table3_model(model_config), train_config.seed)
    res = train_model(
        model,
        x,
        y,
        train_config,
        device=device,
        probe=x_test[probe_idx],
        test=(x_test, y_test),
        on_progress=on_progress,
        test_last_epoch=False,
        **callbacks,
    )
    ev = evaluate(model, x_test, y_test)
    if res.history:
        res.history[-1].test_accuracy = ev.accuracy
    n_train = min(len(x), train_config.max_samples or len(x), TRAIN_EVAL_SIZE)
    return ExperimentResult(
        model=model,
        train=res,
        features=ev.features,
        labels=y_test.numpy(),
        predictions=ev.predictions,
        train_accuracy=evaluate(model, x[:n_train], y[:n_train]).accuracy,
        test_accuracy=ev.accuracy,
        config=table3_config_dict(model_config, train_config, spec),
        probe_indices=probe_idx,
    )


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


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    a = np.asarray([v for v in values if not np.isnan(v)], dtype=float)
    return (float(a.mean()), float(a.std())) if len(a) else (float("nan"), float("nan"))


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
                train_acc=_mean_std([100 * r.train_accuracy for r in results]),
                test_acc=_mean_std([100 * r.test_accuracy for r in results]),
                n_err=_mean_std([s.n_error for s in stats]),
                n_ovlp=_mean_std([s.n_overlap for s in stats]),
                ratio=_mean_std([100 * s.ratio for s in stats]),
                n_unavoidable=_mean_std([s.n_unavoidable_errors for s in stats]),
            )
        )
    return rows


def _pm(pair: tuple[float, float], fmt: str) -> str:
    mean, std = pair
    return "-" if np.isnan(mean) else f"{mean:{fmt}} ± {std:{fmt}}"


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
        _pm(row.train_acc, ".2f"),
        _pm(row.test_acc, ".2f"),
        _pm(row.n_err, ".1f"),
        _pm(row.n_ovlp, ".1f"),
        _pm(row.ratio, ".2f"),
        _pm(row.n_unavoidable, ".1f"),
    ]


def paper_row(operator: str) -> list[str]:
    """The paper's own CIFAR-10 row for an operator, in the same layout."""
    p = PAPER_TABLE3[operator]
    return [
        ROLES[operator],
        p["label"],
        "✓" if p["no_bias"] else "",
        _pm(p["train_acc"], ".2f"),
        _pm(p["test_acc"], ".2f"),
        _pm(p["n_err"], ".0f"),
        _pm(p["n_ovlp"], ".0f"),
        _pm(p["ratio"], ".2f"),
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
    from sph_viz.specs import make_run_specs  # specs imports this module

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
