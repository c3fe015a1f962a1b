"""The Toy page's live first chart, as a tab sees it over a real server's websocket."""

import asyncio

import pytest


@pytest.mark.slow  # a real server, and 30 epochs of each net watched as they train
def test_the_first_chart_comes_while_the_nets_train(tmp_path):
    """Over the websocket, as a tab sees it: each net's representation is drawn from its first
    snapshot on, before its run ends; the finished page then shows the trained epochs."""
    from servers import serve
    from st_charts import chart_run

    with serve(tmp_path) as url:
        run = asyncio.run(chart_run(url, "toy", "epochs=30"))
    titles = [t for _, t in run.charts]
    assert titles[:2] == ["original: epoch 0 (training…)", "spherized: epoch 0 (waits its turn)"]
    live = [t for t in titles if t.endswith("(training…)")]
    assert "original: epoch 30 (training…)" in live
    assert live.index("original: epoch 30 (training…)") < live.index("spherized: epoch 0 (training…)")
    assert titles.index(live[-1]) < titles.index("original: representation, epoch 30")
    assert titles[-4:] == [
        "original: representation, epoch 30",
        "original: input plane",
        "spherized: representation, epoch 30",
        "spherized: input plane",
    ]
    assert any(t.startswith("Training original: epoch") for t in run.texts)
