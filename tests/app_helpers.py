"""AppTest helpers shared by the dashboard tests: open a page, read its figures and image grids."""

import base64
import json
import re
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    "pages/home.py",
    "pages/toy.py",
    "pages/vis3d.py",
    "pages/overlap.py",
    "pages/layer.py",
    "pages/paper.py",
    "pages/spherenet.py",
    "pages/prototypes.py",
]


def open_page(apps, page, query=None, state=None, timeout=120) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    apps.append(at)
    at.run()
    for k, v in (state or {}).items():
        at.session_state[k] = v
    at.query_params.update(query or {})
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def decode(value):
    """Plotly >= 6 sends numpy arrays as {'dtype', 'bdata'} (and 'shape' for 2-D ones)."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return flat.reshape([int(n) for n in str(value.get("shape", len(flat))).split(",")])
    return np.asarray(value)


def figures(at) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def title(fig: dict) -> str:
    return fig["layout"].get("title", {}).get("text", "")


def image_captions(at, marker: str) -> list[str]:
    """Captions of the one image grid whose captions contain marker."""
    (grid,) = [el for el in at.get("image") if any(marker in im.caption for im in el.proto.imgs)]
    return [im.caption for im in grid.proto.imgs]


def captioned_indices(captions: list[str]) -> list[int]:
    return [int(re.match(r"#(\d+) ·", c).group(1)) for c in captions]
