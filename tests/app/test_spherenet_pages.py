"""The SphereNet and prototype pages through AppTest: the Train button, the background job and the
numbers from the core. The runs the pages start return prepared results (real runs on a tiny MNIST
folder, made once per session under the pages' own keys); Stop is tested on a real training."""

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from prepared import filed_under, page_values
from streamlit.testing.v1 import AppTest

from sph_viz.data.idx import load_image_folder
from sph_viz.experiments.prototypes import PROTOTYPE_FIELDS, plan_comparison
from sph_viz.experiments.result import ExperimentResult
from sph_viz.experiments.rotated_mnist import make_rotated_mnist, rotation_mae
from sph_viz.experiments.spherenet import (
    SPHERENET_FIELDS,
    parse_variant,
    plan_runs,
    run_spherenet,
    spherenet_config_dict,
)
from sph_viz.figures.spherenet import compute_curve_band
from sph_viz.nn.prototypes import optimize_prototypes
from sph_viz.reports.format import k_summary
from sph_viz.results.store import ResultStore

ROOT = Path(__file__).resolve().parents[2]
TINY = {"max_samples": "256", "epochs": "1"}


@pytest.fixture
def open_page(fresh_app, monkeypatch):
    """AppTest of one page file (app.py does not list these pages yet); jobs stopped afterwards."""
    apps = []

    def open_(page: str, query: dict) -> AppTest:
        at = AppTest.from_file(str(ROOT / page), default_timeout=300)
        apps.append(at)
        at.query_params.update(query)
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        return at

    yield open_
    for at in apps:
        for key in ("spherenet_job", "prototypes_job"):
            if key in at.session_state:
                at.session_state[key].stop()
                at.session_state[key].join(600)


def decode(value):
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value)


def figures(at) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


SPHERENET_QUERY = {**TINY, "variants": "plain,sphere-learnable"}


@pytest.fixture(scope="session")
def spherenet_prepared(tiny_folder) -> dict[str, ExperimentResult]:
    """Each run SPHERENET_QUERY plans, trained on the tiny folder, by its page key (as JSON)."""
    values = page_values(SPHERENET_QUERY, SPHERENET_FIELDS)
    seeds = range(values["seed"], values["seed"] + values["n_seeds"])
    prepared = {}
    for plan in plan_runs(values, values["variants"], seeds):
        result = run_spherenet(*parse_variant(plan.variant), plan.train, dataset=str(tiny_folder))
        prepared[json.dumps(plan.cache_config, sort_keys=True)] = filed_under(result, plan.cache_config)
    return prepared


@pytest.fixture(scope="session")
def prototypes_prepared(tiny_folder) -> dict[str, ExperimentResult]:
    """The prototype page's three runs for TINY (its `plan_comparison`), on the tiny folder."""
    runs = plan_comparison(page_values(TINY, PROTOTYPE_FIELDS))
    hpn, spherized, rotated = (runs[name][1] for name in ("HPN", "spherized", "rotated MNIST"))

    def tiny_rotated(split: str, seed: int):  # rotated_split, on the tiny folder's digits
        images = load_image_folder(str(tiny_folder))[split]
        return make_rotated_mnist(images.images, images.labels, seed=seed)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sph_viz.experiments.rotated_mnist.rotated_split", tiny_rotated)
        results = {
            "HPN": hpn.func(*hpn.args, **hpn.keywords, dataset=str(tiny_folder)),
            "spherized": spherized.func(*spherized.args, **spherized.keywords, data_dir=str(tiny_folder)),
            "rotated MNIST": rotated(),
        }
    return {name: filed_under(result, runs[name][0]) for name, result in results.items()}


def train(at, button: str, job: str) -> None:
    at.button(key=button).click().run()
    at.session_state[job].join(900)
    at.run()
    assert not at.exception, [e.message for e in at.exception]


def test_spherenet_page_trains_and_shows_the_cores_numbers(open_page, spherenet_prepared, monkeypatch):
    def prepared_run(conv, operator, train_config, *, dataset="mnist", **_callbacks):
        return spherenet_prepared[
            json.dumps(spherenet_config_dict(conv, operator, train_config, dataset), sort_keys=True)
        ]

    monkeypatch.setattr(
        "sph_viz.experiments.spherenet.run_spherenet", prepared_run
    )  # what each planned run calls
    at = open_page("pages/spherenet.py", SPHERENET_QUERY)
    assert at.title[0].value.startswith("SphereNet")
    train(at, "spherenet_train", "spherenet_job")
    results = at.session_state["spherenet_shown"]
    assert set(results) == {"plain · seed 0", "sphere-learnable · seed 0"}
    table = at.dataframe[0].value.set_index("variant")
    sphere = results["sphere-learnable · seed 0"]
    assert table.loc["plain", "test accuracy"] == f"{results['plain · seed 0'].test_accuracy:.2%}"
    assert table.loc["sphere-learnable", "learnt k (mean ± sd)"] == k_summary(sphere.extras["learnt_k"])
    assert table.loc["plain", "learnt k (mean ± sd)"] == "-"
    loss = next(f for f in figures(at) if f["layout"]["yaxis"]["title"]["text"] == "training loss")
    lines = [t for t in loss["data"] if t.get("showlegend") is not False]  # the means, not the bands
    band = compute_curve_band([sphere.extras], "steps", "loss", window=20)
    np.testing.assert_allclose(decode(lines[1]["y"]), band.mean)
    for result in results.values():  # finished runs went to the disk cache
        assert ResultStore().load(result.config) is not None
    at.run()  # nothing missing now: no Train button
    assert "spherenet_train" not in [b.key for b in at.button]


def test_spherenet_page_stop_keeps_the_model_but_not_in_the_cache(open_page):
    at = open_page("pages/spherenet.py", {"max_samples": "6400", "epochs": "1", "variants": "plain"})
    at.button(key="spherenet_train").click().run()
    at.session_state["spherenet_job"].stop()
    at.session_state["spherenet_job"].join(900)
    at.run()
    (result,) = at.session_state["spherenet_shown"].values()
    assert result.train.stopped and result.train.steps < 100  # 6,400 images: 100 steps
    assert bool(at.dataframe[0].value.loc[0, "stopped early"])
    assert ResultStore().load(result.config) is None


def test_prototype_page_animates_eq5_and_compares_hpn_with_the_spherized_head(
    open_page, prototypes_prepared, monkeypatch
):
    for name, run in (
        ("HPN", "run_prototypes"),
        ("spherized", "run_vis3d"),
        ("rotated MNIST", "run_rotated_mnist"),
    ):
        result = prototypes_prepared[name]
        monkeypatch.setattr(f"sph_viz.experiments.prototypes.{run}", lambda *a, result=result, **k: result)
    at = open_page("pages/prototypes.py", TINY)
    placed = at.session_state["prototypes_placed"]
    assert placed.min_angle_deg == optimize_prototypes(10, 3, steps=1000, seed=0).min_angle_deg
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["smallest angle between two prototypes"] == f"{placed.min_angle_deg:.2f}°"
    assert metrics["best known"] == "66.15°"
    anim = next(f for f in figures(at) if f.get("frames"))
    assert len(anim["frames"]) == len(placed.snapshots)

    train(at, "prototypes_train", "prototypes_job")
    results = at.session_state["prototypes_shown"]
    assert set(results) == {"HPN", "spherized", "rotated MNIST"}
    same = [json.dumps(results[n].config["train"], sort_keys=True) for n in ("HPN", "spherized")]
    assert same[0] == same[1]  # the same preset and seed
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["HPN: test accuracy"] == f"{results['HPN'].test_accuracy:.2%}"
    assert metrics["spherized: test accuracy"] == f"{results['spherized'].test_accuracy:.2%}"
    rot = results["rotated MNIST"]
    mae = rotation_mae(rot.extras["angles_true"], rot.extras["angles_predicted"])
    assert metrics["rotation: mean absolute error"] == f"{mae:.1f}°"
    assert metrics["class accuracy"] == f"{rot.test_accuracy:.2%}"

    def rotation_trace():
        fig = next(f for f in figures(at) if any(t.get("name") == "by rotation" for t in f["data"]))
        return next(t for t in fig["data"] if t.get("name") == "by rotation")

    assert rotation_trace().get("visible", True) is True
    at.radio(key="prototypes_color").set_value("class").run()
    assert rotation_trace()["visible"] is False
