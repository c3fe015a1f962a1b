"""Issue 4 on the pages: bad input gets a clear answer, nothing is lost, sessions keep their own.

Each test drives a real page through AppTest (the library, CLI and file cases are in
tests/integration/test_reliability.py) and fails without the handling it names (checked by
reverting the handling once; see README, "What we tested").
"""

import os
from pathlib import Path

import numpy as np
import pytest
from app_helpers import PAGES, open_page

# ---------------------------------------------------------------- data folders


@pytest.mark.parametrize("folder", ["/no/such/folder", "WRONG_SIZE"])
def test_bad_data_folder_in_the_page_says_why_and_keeps_the_bundled_data(
    fresh_app, folder, wrong_size_folder
):
    folder = str(wrong_size_folder) if folder == "WRONG_SIZE" else folder
    at = open_page(fresh_app, "pages/vis3d.py", state={"vis3d_data": folder, "vis3d_autostarted": True})
    (error,) = [e.value for e in at.error]
    assert error.startswith("Data folder not usable: ") and "Using the bundled MNIST instead." in error
    assert ("data folder not found" in error) or ("needs 28x28 images" in error)
    assert at.button(key="vis3d_train")  # the page still works, on the bundled MNIST


@pytest.mark.parametrize("page", PAGES)
def test_junk_in_the_url_never_crashes_a_page(fresh_app, page):
    junk = {
        "lr": "<script>",
        "epochs": "-1e999",
        "tau": "2",
        "heads": "x,,y",
        "preset": "%00",
        "radius": "inf",
    }
    at = open_page(fresh_app, page, query=junk, state={"vis3d_autostarted": True})
    assert not at.exception


# ---------------------------------------------------------------- divergence


def test_divergence_in_the_page_keeps_the_last_good_results(fresh_app, small_mnist):
    base = {"preset": "paper", "heads": "original3d", "epochs": "3", "max_samples": "600"}
    state = {"vis3d_data": str(small_mnist)}
    at = open_page(fresh_app, "pages/vis3d.py", query=base, state=state)
    at.button(key="vis3d_train").click().run()
    at.session_state["vis3d_job"].join(300)
    at.run()
    good = at.session_state["vis3d_last_shown"]["original3d"]
    at.session_state["vis3d_optimizer"] = "sgd"
    at.session_state["vis3d_lr"] = 10.0
    at.run()
    at.button(key="vis3d_train").click().run()
    at.session_state["vis3d_job"].join(300)
    at.run()
    errors = " ".join(e.value for e in at.error)
    assert (
        "original3d: training diverged: the loss became" in errors and "Try a smaller learning rate" in errors
    )
    assert "showing the last results that did train" in " ".join(i.value for i in at.info)
    assert at.session_state["vis3d_last_shown"]["original3d"] is good
    assert any(f"test accuracy **{good.test_accuracy:.2%}**" in m.value for m in at.markdown)
    assert len(list((Path(os.environ["SPH_VIZ_CACHE_DIR"])).glob("*.sphviz"))) == 1  # the good one only


# ---------------------------------------------------------------- interruption


def test_stop_keeps_the_model_and_does_not_cache_it(fresh_app, small_mnist):
    query = {"preset": "quick", "heads": "spherized", "epochs": "50", "max_samples": "600"}
    at = open_page(fresh_app, "pages/vis3d.py", query=query, state={"vis3d_data": str(small_mnist)})
    job = at.session_state["vis3d_job"]
    at.button(key="vis3d_job_stop").click().run()
    job.join(300)
    view = job.view()
    assert view.status == "stopped"
    (res,) = view.results.values()
    assert res.train.stopped and res.train.steps < 50 * 10
    assert not list(Path(os.environ["SPH_VIZ_CACHE_DIR"]).glob("*.sphviz"))  # a stopped run is not cached


# ---------------------------------------------------------------- concurrency


def test_two_sessions_keep_their_own_results(fresh_app, small_mnist):
    common = {"preset": "quick", "heads": "spherized", "epochs": "1", "max_samples": "300"}
    state = {"vis3d_data": str(small_mnist)}
    a = open_page(fresh_app, "pages/vis3d.py", query={**common, "radius": "2"}, state=state)
    b = open_page(fresh_app, "pages/vis3d.py", query={**common, "radius": "7"}, state=state)
    assert a.session_state["vis3d_job"] is not b.session_state["vis3d_job"]  # both train at once
    for at in (a, b):
        at.session_state["vis3d_job"].join(300)
        at.run()
    ra, rb = (at.session_state["vis3d_last_shown"]["spherized"] for at in (a, b))
    assert np.allclose(np.linalg.norm(ra.features, axis=1), 2.0, rtol=1e-5)
    assert np.allclose(np.linalg.norm(rb.features, axis=1), 7.0, rtol=1e-5)
    assert len(list(Path(os.environ["SPH_VIZ_CACHE_DIR"]).glob("*.sphviz"))) == 2
