"""The dashboard's Streamlit helpers; only `app.py` and `pages/` import this package.

`state` (device, store, memo, URL, config file), `widgets` (controls from the field tables),
`exports` (downloads), `runs` (training in the background), `views` and `overlap_views`,
`toy_views` (the Toy page's live training and view state), `warmup` (torch loaded in the
background after Home has drawn).
"""

import pandas  # noqa: F401 (see below)
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

# pandas is imported here, by every page before it draws, and not later by some thread: Plotly
# (7.1) reads sys.modules["pandas"] whenever it validates or serialises a figure, and a pandas
# that another thread is still importing is half-built there ("partially initialized module
# 'pandas' has no attribute 'Series'", seen when the warm-up imported scikit-learn while the
# Toy page drew). A page's `import sph_viz.app` waits until this module has finished.

# A fresh server whose first request is a deep link (/layer?n=3) runs that page in Streamlit's
# old "pages/ folder" mode: app.py never runs, and the sidebar lists every file of pages/ (app
# included) by file name. Every page imports this package, so the first such run lands here:
# leave that mode and rerun, and app.py's st.navigation takes over with the intended page.
# (PagesManager is Streamlit's internal; tests/e2e/test_browser.py checks this on a fresh server.)
if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()
