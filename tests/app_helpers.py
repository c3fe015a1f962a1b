"""AppTest helpers shared by the dashboard tests."""

from pathlib import Path

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
