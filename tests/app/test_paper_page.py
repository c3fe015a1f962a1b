"""The claims and the Paper page: verdicts by the stated rule, from results put in the cache."""

import math

import numpy as np
import pytest
from app_helpers import ROOT
from streamlit.testing.v1 import AppTest

from sph_viz.experiments.result import ExperimentResult
from sph_viz.experiments.retention import build_retention_model
from sph_viz.nn.gradients import GradientRecord
from sph_viz.reports.claims import AGREES, DIFFERS, NOT_RUN, assess, claims_markdown, missing_tasks
from sph_viz.reports.paper import CLAIMS, TOLERANCE_PP
from sph_viz.results.store import ResultStore
from sph_viz.training.loop import TrainResult

BY_KEY = {c.key: c for c in CLAIMS}
PAPER_GAP = 98.65 - 98.58  # spherized - original test accuracy in the paper's Table 1 (SimpleFNN)


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("SPH_VIZ_CACHE_DIR", str(tmp_path / "cache"))
    return ResultStore(tmp_path / "cache")


def _inject(store: ResultStore, test_acc: dict[str, list[float]], with_gradients: bool = True) -> None:
    """Results for SimpleFNN's cpu recipe, seeds 0-2, with the given test accuracies (tiny arrays)."""
    cpu = BY_KEY["table1-simplefnn"].recipes()[-1]
    assert cpu.name == "cpu"
    for run in cpu.runs:
        config = run.keys[0] if with_gradients else run.keys[1]
        layers = ("body.fc1", "body.fc2", "classifier")
        s = int(run.group == "spherized")  # only the spherized net has an alpha
        alpha = np.full((2, s), 5.0)
        rec = GradientRecord(
            np.array([0, 10]), np.full((2, 3), 1e-3), layers, alpha, alpha * 0, ("act",) * s, 10
        )
        store.save(
            ExperimentResult(
                model=build_retention_model(config["model"]),
                train=TrainResult(),
                features=np.zeros((2, 3), dtype=np.float32),
                labels=np.zeros(2, dtype=np.int64),
                predictions=np.zeros(2, dtype=np.int64),
                train_accuracy=0.99,
                test_accuracy=test_acc[run.group][run.seed],
                config=config,
                probe_indices=np.arange(0),
                extras=rec.to_extras() if with_gradients else {},
            )
        )


def test_empty_cache_means_not_run_yet(store):
    statuses = {c.key: assess(c, store) for c in CLAIMS}
    assert {s.verdict for s in statuses.values()} == {NOT_RUN}
    assert statuses["table1-lenet5"].measured == "0 of 6 runs cached"
    assert statuses["table1-lenet5"].recipe.startswith("cpu:")  # the one the button runs
    assert list(missing_tasks(BY_KEY["table1-lenet5"], store, "cpu")) == [
        f"{v} seed {s}" for v in ("original", "spherized") for s in (0, 1, 2)
    ]
    assert missing_tasks(BY_KEY["table3"], store, "cpu") == {}


def test_table1_rule_on_the_gap(store):
    original = [0.9800, 0.9810, 0.9820]
    _inject(store, {"original": original, "spherized": [a + 0.0010 for a in original]}, with_gradients=False)
    status = assess(BY_KEY["table1-simplefnn"], store)
    # gap +0.10 pp vs the paper's +0.07 pp; tolerance max(0.5, 2·√(σ_gap² + σ_paper_gap²)) = 0.5
    assert status.verdict == AGREES and status.seeds == (0, 1, 2) and status.found == 6
    assert f"{0.10:+.2f} pp vs the paper's {PAPER_GAP:+.2f} pp" in status.reason
    assert "original train 99.00 ± 0.00, test 98.10 ± 0.08 %" in status.measured
    assert status.gradients == {}  # saved without a record
    markdown = claims_markdown(CLAIMS, [assess(c, store) for c in CLAIMS])
    assert "| Table 1 — simplefnn, MNIST | original train 99.99 ± 0.01, test 98.58 ± 0.03 %" in markdown
    assert "(cpu, seeds 0, 1, 2) | agrees |" in markdown


def test_table1_differs_past_the_tolerance(store):
    original = [0.9800, 0.9810, 0.9820]
    _inject(store, {"original": original, "spherized": [0.9690, 0.9700, 0.9710]})
    status = assess(BY_KEY["table1-simplefnn"], store)
    gap = 97.00 - 98.10
    spread = math.hypot(np.std([96.9, 97.0, 97.1]), np.std([98.0, 98.1, 98.2]))
    tol = max(TOLERANCE_PP, 2 * math.hypot(spread, math.hypot(0.04, 0.03)))
    assert abs(gap - PAPER_GAP) > tol  # the rule's own numbers
    assert status.verdict == DIFFERS and f"> {tol:.2f} pp" in status.reason
    assert list(status.gradients) == ["original", "spherized"]  # the records the results carry


def _page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "paper.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _verdicts(at: AppTest) -> dict[str, str]:
    table = at.dataframe[0].value
    return dict(zip(table["result"], table["verdict"], strict=True))


def test_page_lists_every_claim(fresh_app, store):
    at = _page()
    verdicts = _verdicts(at)
    assert list(verdicts) == [c.result for c in CLAIMS]
    assert set(verdicts.values()) == {NOT_RUN}
    assert [e.label for e in at.expander] == [f"{c.result} — {NOT_RUN}" for c in CLAIMS]
    buttons = [b.label for b in at.button]
    assert buttons.count("▶ Run the 6 missing runs in the background") == len(CLAIMS) - 1  # Table 3: none
    assert "No gradient-flow record cached yet" in at.info[0].value


def test_page_shows_the_verdict_of_cached_results(fresh_app, store):
    original = [0.9800, 0.9810, 0.9820]
    _inject(store, {"original": original, "spherized": [a + 0.0010 for a in original]})
    at = _page()
    verdicts = _verdicts(at)
    assert verdicts["Table 1 — simplefnn, MNIST"] == AGREES
    assert verdicts["Table 1 — lenet5, MNIST"] == NOT_RUN
    comparison = at.get("plotly_chart")[0].proto.spec
    assert '"text":"original"' in comparison.replace(" ", "") and '"text":"spherized"' in comparison.replace(
        " ", ""
    )
    assert not at.info  # no "nothing recorded yet" note
    assert at.selectbox(key="paper_gradients").options == ["Table 1 — simplefnn, MNIST"]
    assert len(at.get("plotly_chart")) == 3  # layers side by side, histogram, the spherized net's alpha


@pytest.mark.slow  # six runs of the paper's toy recipe, 100 epochs each
def test_page_button_runs_the_missing_toy_runs(fresh_app, store):
    at = _page()
    at.button(key="paper_run_fig3-toy").click().run()
    job = at.session_state["paper_job"]
    job.join(300)
    assert job.view().errors == {} and len(job.view().results) == 6
    at.run()
    assert _verdicts(at)["Fig. 3 — toy task"] in (AGREES, DIFFERS)
    expander = next(e for e in at.expander if e.label.startswith("Fig. 3"))
    assert "seeds" not in expander.label and "100 % in every run" in expander.markdown[0].value
