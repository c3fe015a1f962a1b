"""Prepared results for the page tests: real runs on a tiny MNIST folder, filed under the configuration
a page asks for.

A page test that is not about training gets its result the way streamlit/llm-examples' tests get an
answer: the one expensive call is replaced. Here a page finds the prepared result in its disk cache
(`ResultStore(...).save`, the lookup every page does first), or its run function returns it at once.
The page's own specs are computed here with the library's functions (`make_run_specs`,
`plan_runs`, `plan_comparison`) from the values of the test's URL, so a prepared result sits under
exactly the key the page looks up; a test that injects one checks that the page started no training.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sph_viz.data.idx import BUNDLED_MNIST
from sph_viz.experiments.page_fields import OVERLAP_FIELDS
from sph_viz.experiments.result import ExperimentResult, plain_config
from sph_viz.experiments.specs import RunSpec, make_run_specs
from sph_viz.experiments.vis3d import VIS3D_FIELDS
from sph_viz.fields import Field, parse_values

TINY_TRAIN, TINY_TEST = 600, 200  # the tiny folder: the first images of each bundled MNIST split
# The CNN-Vis3D page's settings for the prepared heads: the quick preset on the 600 training images.
VIS3D_QUERY = {"preset": "quick", "heads": "spherized,projected", "epochs": "1", "max_samples": "600"}


def page_values(query: dict[str, str], fields: tuple[Field, ...]) -> dict:
    """The values a page reads from this query string (every other field at its default)."""
    values, notes = parse_values(query, fields)
    assert notes == [], notes
    return values


def vis3d_specs(query: dict[str, str], data_dir: str | Path) -> dict[str, RunSpec]:
    """The CNN-Vis3D page's run specs for a query and a data folder (its `head_specs`)."""
    values = page_values(query, VIS3D_FIELDS)
    return make_run_specs("vis3d", values, values["heads"], data_dir=str(data_dir))


def overlap_vis3d_specs(query: dict[str, str]) -> dict[str, RunSpec]:
    """The Overlap page's CNN-Vis3D specs for a query (its `head_specs` on the bundled MNIST)."""
    values = page_values(query, OVERLAP_FIELDS)
    return make_run_specs("vis3d", values, values["heads"], data_dir=str(BUNDLED_MNIST))


def overlap_table3_specs(query: dict[str, str], dataset: str | None = None) -> dict[str, RunSpec]:
    """The Overlap page's Table-3 specs, one per operator and seed (labelled as the page labels them);
    with `dataset`, the same runs on another data set."""
    v = page_values(query, OVERLAP_FIELDS)
    specs = {}
    for op in v["operators"]:
        for seed in v["seeds"]:
            runs = make_run_specs(
                "table3",
                v | {"seed": int(seed)},
                [op],
                preset_name=v["recipe"],
                dataset=dataset or v["dataset"],
            )
            specs[f"{op} · seed {seed}"] = runs[op]
    return specs


def filed_under(result: ExperimentResult, config: dict) -> ExperimentResult:
    """The result as the cache gives it back under another configuration (a page's): the same model
    and arrays; the configurations may differ only in where the data came from."""
    config = plain_config(config)
    differ = {k for k in config.keys() | result.config.keys() if config.get(k) != result.config.get(k)}
    assert differ <= {"data_dir", "dataset"}, f"not the same run: {sorted(differ)} differ"
    return replace(result, config=config)
