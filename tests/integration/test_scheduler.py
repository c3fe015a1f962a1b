"""The server's training queue: sharing, FIFO, Stop, replacement, abandonment, shutdown, threads.

Tasks are real toy trainings (about a second each); a gated task holds its worker until the
test opens the gate, so queue states are observed, not timed.
"""

import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from models.toy import ToyConfig
from sph_viz.experiments.toy import run_toy
from sph_viz.results.scheduler import CANCELLED, Scheduler
from sph_viz.training.cancel import cancellation_point
from sph_viz.training.config import TrainConfig
from sph_viz.training.threads import this_thread_limited

ROOT = Path(__file__).resolve().parents[2]
SHORT = TrainConfig(epochs=2)


def toy(seed: int = 0, epochs: int = 2):
    def task(**callbacks):
        return run_toy(ToyConfig(kind="spherized"), TrainConfig(epochs=epochs, seed=seed), **callbacks)

    return task


def gated(gate: threading.Event, started: threading.Event | None = None, seed: int = 0):
    """A toy training that first waits (cancellably) until the gate opens."""

    def task(**callbacks):
        if started is not None:
            started.set()
        while not gate.wait(0.01):  # an event wait that polls for cancellation, not a timing sleep
            cancellation_point()
        return run_toy(ToyConfig(kind="spherized"), TrainConfig(epochs=2, seed=seed), **callbacks)

    return task


@pytest.fixture
def sched():
    s = Scheduler(max_running=1)
    yield s
    s.shutdown()


def test_identical_configurations_train_once_and_everyone_gets_the_result(sched):
    gate, started = threading.Event(), threading.Event()
    saved = []
    a = sched.submit(
        "alice", {"spherized": ("k1", gated(gate, started))}, on_result=lambda n, r: saved.append(r)
    )
    b = sched.submit("bob", {"spherized": ("k1", gated(gate))})
    started.wait(30)
    assert b.view().shared_with == 1 and a.view().shared_with == 1
    gate.set()
    a.join(60), b.join(60)
    assert sched.started_keys == ["k1"] and len(saved) == 1
    assert a.view().results["spherized"] is b.view().results["spherized"] is saved[0]
    assert a.view().status == b.view().status == "done"


def test_one_at_a_time_in_fifo_order_with_the_queue_place(sched):
    gate, started = threading.Event(), threading.Event()
    first = sched.submit("alice", {"a": ("k1", gated(gate, started))})
    started.wait(30)
    second = sched.submit("bob", {"b": ("k2", toy(1))})
    third = sched.submit("carol", {"c": ("k3", toy(2))})
    assert first.view().phase == "training"
    assert (second.view().phase, second.view().queue_position) == ("queued", 1)
    assert third.view().queue_position == 2
    assert third.view().wait_s is None  # no run has finished yet: no estimate, said as such
    gate.set()
    third.join(60)
    assert sched.started_keys == ["k1", "k2", "k3"]
    assert all(t.view().status == "done" for t in (first, second, third))


def test_stop_keeps_the_model_when_alone_and_only_detaches_when_shared(sched):
    gate, started = threading.Event(), threading.Event()
    saved = []
    a = sched.submit("alice", {"x": ("k1", gated(gate, started))}, on_result=lambda n, r: saved.append(r))
    b = sched.submit("bob", {"x": ("k1", gated(gate))})
    started.wait(30)
    a.stop()  # bob still watches: alice leaves, training goes on
    assert not a.alive and "other session" in a.view().errors["x"]
    gate.set()
    b.join(60)
    assert b.view().status == "done" and len(saved) == 1

    solo = sched.submit("carol", {"y": ("k2", toy(3, epochs=200))}, on_result=lambda n, r: saved.append(r))
    while solo.view().progress is None:  # until training has taken a step
        solo.join(0.05)
    solo.stop()
    solo.join(60)
    view = solo.view()
    assert view.status == "stopped" and view.results["y"].train.stopped
    assert len(saved) == 1  # a stopped run is not cached


def test_a_new_request_of_the_same_session_replaces_the_old_one(sched):
    gate, started = threading.Event(), threading.Event()
    blocker = sched.submit("alice", {"a": ("k0", gated(gate, started))})
    started.wait(30)
    old = sched.submit("bob", {"b": ("k1", toy(1))})
    new = sched.submit("bob", {"b": ("k2", toy(2))})
    assert old.runs["b"].status == CANCELLED and "replaced" in old.view().errors["b"]
    gate.set()
    new.join(60), blocker.join(60)
    assert sched.started_keys == ["k0", "k2"]  # the replaced run never trained


def test_a_run_nobody_watches_any_more_is_cancelled_and_not_saved():
    alive = {"alice": True}
    sched = Scheduler(max_running=1, is_alive=lambda o: alive[o], grace=0.0, check_every=0.0)
    saved = []
    ticket = sched.submit("alice", {"x": ("k1", toy(0, epochs=500))}, on_result=lambda n, r: saved.append(r))
    while ticket.view().progress is None:
        ticket.join(0.05)
    alive["alice"] = False  # the tab closed
    ticket.join(60)
    assert ticket.runs["x"].status == CANCELLED and not saved and "cancelled" in ticket.view().errors["x"]
    sched.shutdown()


def test_shutdown_cancels_the_running_and_the_queued_and_refuses_new_work():
    sched = Scheduler(max_running=1)
    running = sched.submit("a", {"x": ("k1", toy(0, epochs=500))})
    queued = sched.submit("b", {"y": ("k2", toy(1))})
    while running.view().progress is None:
        running.join(0.05)
    sched.shutdown(timeout=30)
    assert running.runs["x"].status == queued.runs["y"].status == CANCELLED
    assert sched.started_keys == ["k1"]
    with pytest.raises(RuntimeError, match="shutting down"):
        sched.submit("c", {"z": ("k3", toy(2))})


@pytest.mark.slow  # a fresh interpreter that exits mid-training
def test_an_interpreter_that_exits_with_a_training_alive_exits_cleanly(tmp_path):
    code = """
import sys
from models.toy import ToyConfig
from sph_viz.experiments.toy import run_toy
from sph_viz.results.scheduler import Scheduler
from sph_viz.training.config import TrainConfig
s = Scheduler(max_running=1)
t = s.submit("a", {"x": ("k", lambda **cb: run_toy(ToyConfig(kind="spherized"), TrainConfig(epochs=300), **cb))})
while t.view().progress is None:
    t.join(0.05)
print("training", flush=True)
"""  # main ends here, mid-training
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "training" in proc.stdout and "terminate called" not in proc.stderr


def test_a_tiny_net_narrows_only_its_own_thread():
    before = torch.get_num_threads()
    seen = {}

    def probe():
        seen["born during the toy run"] = torch.get_num_threads()

    def on_progress(p):
        if "inside" not in seen:
            seen["inside"] = torch.get_num_threads()
            t = threading.Thread(target=probe)
            t.start()
            t.join()

    run_toy(ToyConfig(kind="spherized"), SHORT, on_progress=on_progress)
    assert seen["inside"] == 1
    assert seen["born during the toy run"] == before  # a training thread started now keeps every core
    assert torch.get_num_threads() == before
    with this_thread_limited(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
