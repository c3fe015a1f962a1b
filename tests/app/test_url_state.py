"""Every page keeps its whole configuration in the URL: set each field from the query string, read it back."""

import pytest
from app_helpers import open_page

from sph_viz.experiments.registry import FIELDS
from sph_viz.fields import parse_values, to_query

# A valid, non-default value for every field of every page's table.
NON_DEFAULT = {
    "toy": {"lr": 0.02, "epochs": 3, "batch_size": 8, "seed": 7, "noise": 0.1, "radius": 2.5, "scale": 3.0},
    "vis3d": {
        "preset": "paper",  # no first-visit training (that is the quick preset's)
        "heads": ("projected", "spherized"),
        "epochs": 2,
        "lr": 0.002,
        "optimizer": "sgd",
        "batch_size": 32,
        "weight_decay": 0.0005,
        "max_samples": 600,
        "precision": "float32",
        "radius": 3.0,
        "scale": 2.0,
        "seed": 4,
    },
    "overlap": {
        "layer": "vis3d",
        "tau": 1e-4,
        "dataset": "fashion-mnist",
        "recipe": "paper",
        "operators": ("cosine", "spherization"),
        "seeds": ("3",),
        "preset": "fast",
        "heads": ("projected",),
        "epochs": 1,
        "max_samples": 600,
        "seed": 2,
    },
    "layer": {"alpha": 2.5, "delta": 1e-4, "n": 5, "radius": 3.0, "z1": 1.5, "z2": -2.0},
}


@pytest.mark.parametrize("page", sorted(NON_DEFAULT))
def test_every_field_round_trips_through_the_url(fresh_app, page):
    fields = FIELDS[page]
    wanted = NON_DEFAULT[page]
    assert set(wanted) == {f.name for f in fields}, "every field of the table is exercised"
    assert all(wanted[f.name] != f.default for f in fields)
    at = open_page(fresh_app, f"pages/{page}.py", query=to_query(wanted))
    assert not at.warning or "URL parameter adjusted" not in " ".join(w.value for w in at.warning)
    for name, value in wanted.items():  # the widgets took the values
        got = at.session_state[f"{page}_{name}"]
        assert (tuple(got) if isinstance(got, list) else got) == value, name
    read_back, notes = parse_values(dict(at.query_params), fields)  # and the URL still holds them
    assert notes == [] and read_back == wanted
