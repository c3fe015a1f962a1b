"""The paper's results this tool can reach: the paper's numbers, our recipes and the verdict rules.

Each claim's runs are seeds 0, 1, 2 of its recipes, as the exact cache keys the pages and the
command line use (`sph_viz.reports.claims` reads them). Fig. 3 and Fig. 5 use the Toy and CNN-Vis3D
pages' own default runs; Table 1 and Fig. 4 the runs of `sph_viz.experiments.retention` and
`sph_viz.experiments.gradient_flow`; the Table 3 claim reads `sph_viz.reports.table3.cached_table3_rows`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial

import numpy as np

from models.retention import PAPER_TABLE1, VARIANTS
from models.toy import TOY_MODELS
from sph_viz.data.datasets import resolve_dataset
from sph_viz.data.idx import BUNDLED_MNIST
from sph_viz.experiments.gradient_flow import gradient_ratios, run_vis3d_gradient_flow, vis3d_gradient_config
from sph_viz.experiments.registry import PRESETS
from sph_viz.experiments.result import ExperimentResult
from sph_viz.experiments.retention import (
    PAPER_DATASET,
    RETENTION_PRESETS,
    retention_config_dict,
    retention_model_config,
    retention_train_config,
    run_retention,
)
from sph_viz.experiments.specs import make_run_specs
from sph_viz.experiments.toy import TOY_FIELDS
from sph_viz.experiments.vis3d import VIS3D_FIELDS
from sph_viz.fields import parse_values
from sph_viz.nn.gradients import GradientRecord
from sph_viz.reports.claims import AGREES, DIFFERS, NOT_RUN, Claim, ClaimStatus, Judgement, Recipe, Run
from sph_viz.reports.format import mean_std, pm
from sph_viz.reports.table3 import cached_table3_rows
from sph_viz.results.store import ResultStore

SEEDS = (0, 1, 2)
TOLERANCE_PP = 0.5  # accuracy differences below this many percentage points always agree
GRADIENT_FACTOR = 10.0  # Fig. 4: "not very different" = within one order of magnitude
RETENTION_EVERY, VIS3D_EVERY = 10, 5  # steps between gradient records (Table-1 nets, CNN-Vis3D)


def _yes(ok: bool) -> str:
    return "yes" if ok else "no"


def _le(ok: bool) -> str:
    return "≤" if ok else ">"


def _tolerance(s1: float, s2: float) -> float:
    return max(TOLERANCE_PP, 2 * math.hypot(s1, s2))


# --- Fig. 3: the toy task -------------------------------------------------------------------


def _toy_recipes() -> list[Recipe]:
    defaults, _ = parse_values({}, TOY_FIELDS)  # the Toy page's own defaults: its cache entries
    runs = []
    for seed in SEEDS:
        specs = make_run_specs("toy", defaults | {"seed": seed}, tuple(TOY_MODELS), preset_name="paper")
        runs += [Run(kind, seed, (spec.cache_config,), spec.run) for kind, spec in specs.items()]
    return [Recipe("paper", PRESETS["toy"]["paper"].description, tuple(runs))]


def _sphere_error(results: list[ExperimentResult]) -> float:
    """max over runs and samples of | ||f|| - r | / r."""
    return max(
        float(np.abs(np.linalg.norm(r.features, axis=1) / r.config["model"]["radius"] - 1).max())
        for r in results
    )


def _judge_toy(recipe: str, groups: dict[str, list[ExperimentResult]]) -> Judgement:
    acc = {k: mean_std([100 * r.train_accuracy for r in rs]) for k, rs in groups.items()}
    off = _sphere_error(groups["spherized"])
    all_100 = all(r.train_accuracy == 1.0 for rs in groups.values() for r in rs)
    measured = (
        f"train accuracy: original {pm(acc['original'], unit=' %')}, "
        f"spherized {pm(acc['spherized'], unit=' %')}; spherized max |‖h‖ − r| / r = {off:.1e}"
    )
    reason = f"100 % in every run: {_yes(all_100)}; on the circle (≤ 1e-4): {_yes(off <= 1e-4)}"
    return Judgement(measured, all_100 and off <= 1e-4, reason)


# --- Table 1 and Fig. 4 on the Table-1 nets ----------------------------------------------------


def _retention_recipes(net: str, *, recorded_only: bool = False) -> list[Recipe]:
    spec = resolve_dataset(PAPER_DATASET[net])
    recipes = []
    for name in ("paper", "cpu"):
        runs = []
        for variant in VARIANTS:
            model = retention_model_config(net, variant, spec)
            for seed in SEEDS:
                train = retention_train_config(net, name, {"seed": seed})
                recorded = retention_config_dict(model, train, spec, RETENTION_EVERY)
                keys = (recorded,) if recorded_only else (recorded, retention_config_dict(model, train, spec))
                start = partial(
                    run_retention, net, variant, train, dataset=spec, record_gradients_every=RETENTION_EVERY
                )
                runs.append(Run(variant, seed, keys, start))
        recipes.append(Recipe(name, RETENTION_PRESETS[net][name].description, tuple(runs)))
    return recipes


def _judge_table1(net: str, recipe: str, groups: dict[str, list[ExperimentResult]]) -> Judgement:
    paper = PAPER_TABLE1[net]
    test = {v: mean_std([100 * r.test_accuracy for r in groups[v]]) for v in VARIANTS}
    train = {v: mean_std([100 * r.train_accuracy for r in groups[v]]) for v in VARIANTS}
    measured = "; ".join(f"{v} train {pm(train[v])}, test {pm(test[v])} %" for v in VARIANTS)
    if recipe == "paper":
        parts, ok = [], True
        for v in VARIANTS:
            (m, s), (p_mean, p_sd) = test[v], paper[v]["test"]
            tol = _tolerance(s, p_sd)
            gap = abs(m - p_mean)
            ok &= gap <= tol
            parts.append(f"{v} test {m:.2f} vs {p_mean:.2f}: |Δ| {gap:.2f} {_le(gap <= tol)} {tol:.2f} pp")
        return Judgement(measured, ok, "; ".join(parts))
    (ms, ss), (mo, so) = test["spherized"], test["original"]
    (ps, pss), (po, pso) = paper["spherized"]["test"], paper["original"]["test"]
    gap, gap_s = ms - mo, math.hypot(ss, so)
    pgap, pgap_s = ps - po, math.hypot(pss, pso)
    tol = _tolerance(gap_s, pgap_s)
    ok = abs(gap - pgap) <= tol
    reason = (
        f"shortened recipe: only spherized − original test accuracy is compared: {gap:+.2f} pp vs the "
        f"paper's {pgap:+.2f} pp, |Δ| {abs(gap - pgap):.2f} {_le(ok)} {tol:.2f} pp"
    )
    return Judgement(measured, ok, reason)


def _judge_gradients(original: str, other: str, recipe: str, groups: dict) -> Judgement:
    records = {g: [GradientRecord.from_extras(r.extras) for r in rs] for g, rs in groups.items()}
    if any(r is None for rs in records.values() for r in rs):
        return Judgement("a run has no gradient record", False, "no gradient record")
    ratios = gradient_ratios(records[original], records[other])
    lo, hi = min(ratios, key=ratios.get), max(ratios, key=ratios.get)
    ok = all(1 / GRADIENT_FACTOR <= v <= GRADIENT_FACTOR for v in ratios.values())
    alpha = records[other][0].alpha
    alpha_text = f"; α {alpha[0, 0]:.2f} → {alpha[-1, 0]:.2f} (seed {SEEDS[0]})" if alpha.size else ""
    measured = (
        f"{other} / {original} median mean |grad| over {len(ratios)} shared layers: "
        f"{ratios[lo]:.2f} ({lo}) to {ratios[hi]:.2f} ({hi}){alpha_text}"
    )
    reason = f"every shared layer within ×{GRADIENT_FACTOR:g}: {'yes' if ok else 'no'}"
    return Judgement(measured, ok, reason)


# --- CNN-Vis3D: Fig. 4 (recorded runs) and Fig. 5 (the CNN-Vis3D page's own runs) ----------------


def _vis3d_specs(seed: int, heads: Sequence[str]):
    defaults, _ = parse_values({}, VIS3D_FIELDS)  # the CNN-Vis3D page's defaults: the quick preset
    return make_run_specs("vis3d", defaults | {"seed": seed}, heads, data_dir=BUNDLED_MNIST)


def _vis3d_gradient_recipes() -> list[Recipe]:
    runs = []
    for seed in SEEDS:
        for head, s in _vis3d_specs(seed, ("original3d", "spherized")).items():
            key = vis3d_gradient_config(s.model, s.train, VIS3D_EVERY, s.data_dir)
            start = partial(run_vis3d_gradient_flow, s.model, s.train, every=VIS3D_EVERY, data_dir=s.data_dir)
            runs.append(Run(head, seed, (key,), start))
    return [Recipe("quick", PRESETS["vis3d"]["quick"].description, tuple(runs))]


def _vis3d_recipes() -> list[Recipe]:
    runs = []
    for seed in SEEDS:
        for head, s in _vis3d_specs(seed, ("original3d", "spherized")).items():
            runs.append(Run(head, seed, (s.cache_config,), s.run))
    return [Recipe("quick", PRESETS["vis3d"]["quick"].description, tuple(runs))]


def _judge_fig5(recipe: str, groups: dict[str, list[ExperimentResult]]) -> Judgement:
    off = _sphere_error(groups["spherized"])
    cvs = [
        float(np.std(n) / np.mean(n))
        for r in groups["original3d"]
        for n in [np.linalg.norm(r.features, axis=1)]
    ]
    acc = {k: mean_std([100 * r.test_accuracy for r in rs]) for k, rs in groups.items()}
    measured = (
        f"spherized: max |‖f‖ − r| / r = {off:.1e}, test {pm(acc['spherized'], unit=' %')}; "
        f"original3d: ‖f‖ std/mean {min(cvs):.2f}–{max(cvs):.2f}, test {pm(acc['original3d'], unit=' %')}"
    )
    ok = off <= 1e-4 and min(cvs) >= 0.1
    reason = f"on the sphere (≤ 1e-4): {_yes(off <= 1e-4)}; original spread (≥ 0.1): {_yes(min(cvs) >= 0.1)}"
    return Judgement(measured, ok, reason)


# --- Table 3: the cached rows of sph_viz.reports.table3 ------------------------------------------


def _table3_status(store: ResultStore) -> ClaimStatus:
    def not_yet(why: str) -> ClaimStatus:
        return ClaimStatus("table3", NOT_RUN, "-", "the Table 3 recipe", (), 0, 0, why)

    try:
        rows = cached_table3_rows(store=store, seeds=SEEDS)
    except (OSError, ValueError) as exc:  # an unusable data folder or cache: report, never break the page
        return not_yet(f"Table 3 lookup failed ({type(exc).__name__}: {exc})")
    sph = next((r for r in rows if getattr(r, "operator", None) == "spherization"), None)
    if sph is None:
        return not_yet("no cached spherization row")
    projections = [r for r in rows if getattr(r, "role", "") in ("direct", "indirect")]
    with_errors = [r.operator for r in projections if r.n_err[0] > 0]
    ok = sph.n_err[0] == 0 and bool(with_errors)
    measured = (
        f"spherization: # err {pm(sph.n_err)}, # ovlp {pm(sph.n_ovlp)}, "
        f"test {pm(sph.test_acc, unit=' %')}; "
        f"projections with errors: {', '.join(with_errors) or 'none'}"
    )
    reason = (
        f"spherization # err = 0: {_yes(sph.n_err[0] == 0)}; projection errors: {_yes(bool(with_errors))}"
    )
    seeds = tuple(getattr(sph, "seeds", ()))
    return ClaimStatus(
        "table3",
        AGREES if ok else DIFFERS,
        measured,
        "the Table 3 recipe",
        seeds,
        len(rows),
        len(rows),
        reason,
    )


def _table1_claim(net: str) -> Claim:
    p = PAPER_TABLE1[net]
    paper = "; ".join(f"{v} train {pm(p[v]['train'])}, test {pm(p[v]['test'])} %" for v in VARIANTS)
    return Claim(
        f"table1-{net}",
        f"Table 1 — {net}, {p['dataset']}",
        paper + " (5 seeds)",
        f"paper recipe: each variant's test μ within max({TOLERANCE_PP} pp, 2√(σ² + σ²_paper)) "
        "of the paper's; "
        "cpu recipe: the same test on spherized − original (the retention claim)",
        partial(_retention_recipes, net),
        partial(_judge_table1, net),
    )


GRADIENT_RULE = (
    f"every layer both nets have: the spherized net's median mean |grad| within ×{GRADIENT_FACTOR:g} "
    "of the original's (geometric mean over seeds)"
)
CLAIMS: tuple[Claim, ...] = (
    Claim(
        "fig3-toy",
        "Fig. 3 — toy task",
        "both nets 100 % training accuracy after 100 epochs; spherized representations on the circle, "
        "hyperplanes through the origin",
        "100 % train accuracy in every run and every spherized representation on the circle "
        "(|‖h‖ − r| ≤ 1e-4 r)",
        _toy_recipes,
        _judge_toy,
    ),
    *(_table1_claim(net) for net in ("simplefnn", "lenet5", "vgg11")),
    Claim(
        "fig4-vis3d",
        "Fig. 4 — gradient flow, CNN-Vis3D (MNIST)",
        "VGG-11 on CIFAR-100: mean |grad| of original and spherized 'not very different during the whole "
        "training', at the last layer and before (no numbers)",
        GRADIENT_RULE,
        _vis3d_gradient_recipes,
        partial(_judge_gradients, "original3d", "spherized"),
    ),
    Claim(
        "fig4-lenet5",
        "Fig. 4 — gradient flow, LeNet-5 (MNIST)",
        "as above (the paper shows VGG-11 on CIFAR-100 only)",
        GRADIENT_RULE,
        partial(_retention_recipes, "lenet5", recorded_only=True),
        partial(_judge_gradients, "original", "spherized"),
    ),
    Claim(
        "table3",
        "Table 3 — errors among overlapping representations",
        "CIFAR-10, CNN-9: spherization # err 0 ± 0 (# ovlp 499 ± 106); projections up to 1631 errors",
        "spherization has 0 errors among overlapping test samples and some projection has errors",
        lookup=_table3_status,
    ),
    Claim(
        "fig5-vis3d",
        "Fig. 5 — CNN-Vis3D representations (MNIST)",
        "spherized: every representation on the sphere; original: spread over norm and angle (a figure)",
        "spherized |‖f‖ − r| ≤ 1e-4 r for every test image; original3d ‖f‖ std/mean ≥ 0.1",
        _vis3d_recipes,
        _judge_fig5,
    ),
)
