"""Claims checked against the result cache: the machinery, not the paper (see `paper_claims`).

A `Claim` names its recipes (most faithful first; the last is the one a user can run here in
minutes) as the exact cache keys of each run, so `assess` only reads the result cache: the
first recipe with every run cached is judged by the claim's rule, else the verdict is
"not run yet". `missing_tasks` gives the runs still missing, ready for the app's training queue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from sph_viz.experiments.result import ExperimentResult
from sph_viz.nn.gradients import GradientRecord
from sph_viz.results.store import ResultStore

AGREES, DIFFERS, NOT_RUN = "agrees", "differs", "not run yet"


@dataclass(frozen=True)
class Run:
    """One (group, seed) of a recipe: the cache keys that hold it (the first is where a new run goes)."""

    group: str
    seed: int
    keys: tuple[dict, ...]
    start: Callable[..., ExperimentResult]  # start(device=..., on_progress=..., ...)


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    runs: tuple[Run, ...]


@dataclass(frozen=True)
class Judgement:
    measured: str  # our numbers in words
    agrees: bool
    reason: str  # the rule applied to these numbers


@dataclass(frozen=True)
class Claim:
    key: str
    result: str  # which of the paper's results
    paper: str  # the paper's numbers
    rule: str  # when the verdict is "agrees"
    recipes: Callable[[], list[Recipe]] = lambda: []
    judge: Callable[[str, dict[str, list[ExperimentResult]]], Judgement] | None = None
    lookup: Callable[[ResultStore], ClaimStatus] | None = None  # a claim that finds its own results


@dataclass(frozen=True)
class ClaimStatus:
    key: str
    verdict: str  # AGREES, DIFFERS or NOT_RUN
    measured: str
    recipe: str  # the recipe judged (or the one that would run)
    seeds: tuple[int, ...]
    found: int  # runs cached of that recipe
    total: int
    reason: str
    gradients: dict[str, GradientRecord] = field(default_factory=dict)  # group -> first seed's record


def _found(run: Run, store: ResultStore) -> ExperimentResult | None:
    for key in run.keys:
        if store.path(key).is_file() and (result := store.load(key)) is not None:
            return result
    return None


def _count_cached(recipe: Recipe, store: ResultStore) -> int:
    return sum(any(store.path(k).is_file() for k in run.keys) for run in recipe.runs)


def assess(claim: Claim, store: ResultStore) -> ClaimStatus:
    """The claim's verdict from the cache alone (nothing is trained).

    The first recipe with every run cached is judged; with none complete, the verdict is
    "not run yet" and the status names the recipe closest to complete (ties: the last).
    """
    if claim.lookup is not None:
        return claim.lookup(store)
    try:
        recipes = claim.recipes()
    except (ValueError, OSError) as exc:  # e.g. the dataset is not on this machine
        return ClaimStatus(claim.key, NOT_RUN, "-", "-", (), 0, 0, f"cannot run here: {exc}")
    counts = [_count_cached(r, store) for r in recipes]
    for recipe, count in zip(recipes, counts, strict=True):
        if count < len(recipe.runs):
            continue
        found = [_found(run, store) for run in recipe.runs]
        if any(res is None for res in found):  # a damaged entry was just removed
            continue
        groups: dict[str, list[ExperimentResult]] = {}
        for run, res in zip(recipe.runs, found, strict=True):
            groups.setdefault(run.group, []).append(res)
        j = claim.judge(recipe.name, groups)
        records = {g: GradientRecord.from_extras(rs[0].extras) for g, rs in groups.items()}
        return ClaimStatus(
            claim.key,
            AGREES if j.agrees else DIFFERS,
            j.measured,
            f"{recipe.name}: {recipe.description}",
            tuple(sorted({run.seed for run in recipe.runs})),
            count,
            len(recipe.runs),
            j.reason,
            {g: r for g, r in records.items() if r is not None},
        )
    if not recipes:
        return ClaimStatus(claim.key, NOT_RUN, "-", "-", (), 0, 0, "nothing to run")
    best = max(range(len(recipes)), key=lambda i: (counts[i], i))
    recipe, count = recipes[best], counts[best]
    text = f"{count} of {len(recipe.runs)} runs cached"
    return ClaimStatus(
        claim.key, NOT_RUN, text, f"{recipe.name}: {recipe.description}", (), count, len(recipe.runs), text
    )


def missing_tasks(claim: Claim, store: ResultStore, device) -> dict[str, Callable[..., ExperimentResult]]:
    """The runs of the claim's last (cheapest) recipe not in the cache: {label: task(**callbacks)}."""
    if claim.lookup is not None:
        return {}
    try:
        recipes = claim.recipes()
    except (ValueError, OSError):
        return {}
    if not recipes:
        return {}
    return {
        f"{run.group} seed {run.seed}": partial(run.start, device=device)
        for run in recipes[-1].runs
        if _found(run, store) is None
    }


def claims_markdown(claims: Sequence[Claim], statuses: Sequence[ClaimStatus]) -> str:
    """The claims table in Markdown (for the README)."""
    by_key = {c.key: c for c in claims}
    lines = ["| result | paper | measured (recipe, seeds) | verdict |", "|---|---|---|---|"]
    for s in statuses:
        c = by_key[s.key]
        seeds = ", ".join(map(str, s.seeds)) or "-"
        cells = (c.result, c.paper, f"{s.measured} ({s.recipe.split(':')[0]}, seeds {seeds})", s.verdict)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def store_fingerprint(store: ResultStore) -> tuple:
    """Names, sizes and times of the cache's entries: changes whenever a result is saved."""
    try:
        return tuple(
            sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in store.root.glob("*.sphviz"))
        )
    except OSError:
        return ()
