"""Download buttons: figures as HTML and PNG, data as CSV and NPZ, models as a state_dict."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import plotly.graph_objects as go
import streamlit as st


@st.cache_resource
def png_export_available() -> bool:
    """kaleido draws PNGs with a Chromium it finds on the PATH."""
    return any(shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome"))


def figure_downloads(fig: go.Figure, name: str, key: str) -> None:
    """HTML (self-contained, works offline) and PNG buttons; files are made on click."""
    c1, c2 = st.columns(2)
    fig_json = fig.to_json()
    c1.download_button(
        "⬇ HTML",
        lambda: go.Figure(json.loads(fig_json)).to_html(include_plotlyjs=True),
        file_name=f"{name}.html",
        mime="text/html",
        key=f"{key}_html",
        on_click="ignore",
    )
    if not png_export_available():
        c2.caption("PNG export needs Chromium on the server (apt-get install chromium); use HTML.")
        return
    c2.download_button(
        "⬇ PNG",
        lambda: go.Figure(json.loads(fig_json)).to_image(format="png", width=1100, height=700, scale=2),
        file_name=f"{name}.png",
        mime="image/png",
        key=f"{key}_png",
        on_click="ignore",
    )


def chart_with_export(fig: go.Figure, name: str, key: str, where=None, **chart_kwargs):
    """Show a figure with a small 'Export figure' popover (HTML, PNG) under it."""
    where = where or st
    event = where.plotly_chart(fig, key=key, **chart_kwargs)
    with where.popover("⬇ Export figure"):
        figure_downloads(fig, name, key=f"{key}_export")
    return event


def data_downloads(
    features: np.ndarray, labels: np.ndarray, predictions: np.ndarray, model, name: str, key: str
):
    """Features/labels/predictions as CSV and NPZ, and the model as a state_dict."""
    from sph_viz.results.outputs import features_npz_bytes, state_dict_bytes  # torch: only where a model is

    def csv() -> bytes:
        buf = io.StringIO()
        cols = [f"f{i}" for i in range(features.shape[1])]
        buf.write(",".join(["index", *cols, "label", "prediction"]) + "\n")
        for i, (f, y, p) in enumerate(zip(features, labels, predictions, strict=True)):
            buf.write(",".join([str(i), *(f"{v:.9g}" for v in f), str(int(y)), str(int(p))]) + "\n")
        return buf.getvalue().encode()

    c1, c2, c3 = st.columns(3)
    c1.download_button(
        "⬇ CSV", csv, file_name=f"{name}.csv", mime="text/csv", key=f"{key}_csv", on_click="ignore"
    )
    c2.download_button(
        "⬇ NPZ",
        lambda: features_npz_bytes(features, labels, predictions),
        file_name=f"{name}.npz",
        key=f"{key}_npz",
        on_click="ignore",
    )
    c3.download_button(
        "⬇ model (state_dict)",
        lambda: state_dict_bytes(model),
        file_name=f"{name}.pt",
        key=f"{key}_pt",
        on_click="ignore",
    )
