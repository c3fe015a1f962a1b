"""sph-viz dashboard: `streamlit run app.py`. Routes only; the pages are in pages/."""

import streamlit as st

st.set_page_config(page_title="sph-viz: only angles", page_icon="🌐", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/toy.py", title="Toy task", icon="✏️", url_path="toy"),
    st.Page("pages/vis3d.py", title="CNN-Vis3D (MNIST)", icon="🌐", url_path="vis3d"),
    st.Page("pages/overlap.py", title="Overlap statistics", icon="🔍", url_path="overlap"),
    st.Page("pages/layer.py", title="Layer explorer", icon="🧭", url_path="layer"),
]
st.navigation(pages).run()
