"""sph-viz dashboard: `streamlit run app.py`. Routes only; the pages are in pages/."""

import logging

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

st.set_page_config(page_title="sph-viz: only angles", page_icon="🌐", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/toy.py", title="Toy task", icon="✏️", url_path="toy"),
    st.Page("pages/vis3d.py", title="CNN-Vis3D (MNIST)", icon="🌐", url_path="vis3d"),
    st.Page("pages/overlap.py", title="Overlap statistics", icon="🔍", url_path="overlap"),
    st.Page("pages/layer.py", title="Layer explorer", icon="🧭", url_path="layer"),
    st.Page("pages/paper.py", title="Paper: claims and results", icon="📄", url_path="paper"),
    st.Page("pages/spherenet.py", title="SphereNet", icon="⚪", url_path="spherenet"),
    st.Page("pages/prototypes.py", title="Hyperspherical prototypes", icon="🎯", url_path="prototypes"),
]
try:
    st.navigation(pages).run()
except ScriptControlException:  # st.stop() and st.rerun() end a run this way: not errors
    raise
except Exception:  # the page's edge: a traceback names server paths, so it goes to the log only
    logging.getLogger("sph_viz").exception("page failed")
    st.error(
        "Something went wrong on this page; try other settings or reload (details are in the server log)."
    )
