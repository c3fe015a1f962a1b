"""One camera per page for its 3-D views: reported by the browser, kept by the server, put into every spec.

Why a component: Streamlit 1.67 names a Plotly chart by a hash of its spec and keeps the figure
the browser shows (with the user's camera) only while that spec stays the same; a changed spec
(a highlighted sample, a live refresh) mounts a new chart at the spec's camera, and Plotly's
`uirevision` cannot help across charts. So the browser's camera must reach the server and go
into the spec. The component below runs in the app page: it finds the page's 3-D charts by
their `layout.meta` (`figures.camera.camera_tag`), makes the others follow the one being
dragged, and reports the camera when a drag or zoom ends; the server keeps it in the page's
camera fields (session state, then the URL and the config file).

A report reruns the page. In that run, charts whose content did not change keep the camera their
spec already had (the browser shows the new one already): an unchanged spec keeps the chart, so
a report does not remount (flash) the views it came from. The next run that redraws them puts
the page's camera into their specs, so a chart mounted afresh (back from another page) starts
from the camera last seen.
"""

from __future__ import annotations

import streamlit as st

from sph_viz.figures.camera import (
    CAMERA_FIELDS,
    camera_from_values,
    camera_tag,
    camera_values,
    default_values,
)

NAME = "sph_viz.camera"
# Plotly emits `plotly_relayout` with the camera when a drag ends on the scene's canvas; a drag
# that ends outside it (over the legend, off the chart) emits nothing, so a mouseup anywhere after
# a drag finishes it the way Plotly would (save the camera into the layout, emit the event).
JS = """
export default function ({ data, setStateValue }) {
  const tag = data.tag;
  let known = JSON.stringify(data.camera);
  const r = (v) => Math.round(v * 1e4) / 1e4;
  const xyz = (p) => ({ x: r(p.x), y: r(p.y), z: r(p.z) });
  const plain = (c) => ({ eye: xyz(c.eye), center: xyz(c.center), up: xyz(c.up) });
  const scene = (gd) => gd._fullLayout && gd._fullLayout.scene && gd._fullLayout.scene._scene;
  const charts = () => [...document.querySelectorAll('.js-plotly-plot')].filter(
    (gd) => gd.layout && gd.layout.meta === tag && scene(gd));
  const follow = (source, c) => {
    for (const gd of charts()) {
      if (gd === source) continue;
      const s = scene(gd);
      s.camera.lookAt([c.eye.x, c.eye.y, c.eye.z], [c.center.x, c.center.y, c.center.z],
                      [c.up.x, c.up.y, c.up.z]);
      s.saveLayout(gd.layout);
    }
  };
  let dragged = null;
  const handlers = new Map();
  const attach = () => {
    for (const gd of handlers.keys()) if (!gd.isConnected) handlers.delete(gd);  // purged charts
    for (const gd of charts()) {
      if (handlers.has(gd)) continue;
      const moving = (e) => { dragged = gd; if (e['scene.camera']) follow(gd, e['scene.camera']); };
      const moved = (e) => {
        const c = e['scene.camera'];
        if (!c) return;
        follow(gd, c);
        const camera = plain(c), text = JSON.stringify(camera);
        if (text !== known) { known = text; setStateValue('camera', camera); }
      };
      gd.on('plotly_relayouting', moving);
      gd.on('plotly_relayout', moved);
      handlers.set(gd, [moving, moved]);
    }
  };
  const released = () => {
    const gd = dragged, s = gd && scene(gd);
    dragged = null;
    if (!s || !s.isCameraChanged(gd.layout)) return;
    const camera = s.getCamera();
    s.saveLayout(gd.layout);
    gd.emit('plotly_relayout', { 'scene.camera': camera });
  };
  let frame = 0;
  const observer = new MutationObserver(() => {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; attach(); });
  });
  observer.observe(document.body, { childList: true, subtree: true });
  window.addEventListener('mouseup', released);
  attach();
  return () => {
    observer.disconnect();
    cancelAnimationFrame(frame);
    window.removeEventListener('mouseup', released);
    for (const [gd, [a, b]] of handlers) {
      // A chart Plotly has purged (its page or element gone first) has lost its listeners and
      // its removeListener with them: nothing is left to remove.
      if (typeof gd.removeListener !== 'function') continue;
      gd.removeListener('plotly_relayouting', a);
      gd.removeListener('plotly_relayout', b);
    }
  };
}
"""


def _keys(prefix: str) -> dict[str, str]:
    return {f.name: f"{prefix}_{f.name}" for f in CAMERA_FIELDS}


def page_camera(prefix: str) -> dict:
    """The page's camera (Plotly's dict) from its fields in session state; a camera that cannot
    show a scene becomes the default, once, with a warning."""
    camera, note = camera_from_values(page_camera_values(prefix))
    if note is not None:
        st.warning(f"Camera adjusted: {note}")
        for name, key in _keys(prefix).items():
            st.session_state[key] = default_values()[name]
    return camera


def page_camera_values(prefix: str) -> dict[str, float]:
    """The nine camera fields as the page keeps them (for the URL and the config file)."""
    defaults = default_values()
    return {name: st.session_state.get(key, defaults[name]) for name, key in _keys(prefix).items()}


def _run(prefix: str) -> int:
    return st.session_state.get(f"{prefix}_camera_run", 0)


def _take_report(prefix: str) -> None:
    """A camera the browser reported since the last run becomes the page's (latest action wins:
    a report is taken once, so a config file or link read afterwards is not undone by it)."""
    state = st.session_state.get(f"{prefix}_camera_sync") or {}
    reported = state.get("camera") if hasattr(state, "get") else None
    if reported is None or reported == st.session_state.get(f"{prefix}_camera_seen"):
        return
    st.session_state[f"{prefix}_camera_seen"] = reported
    try:
        values = camera_values(reported)
    except ValueError:
        return  # not a camera: the page keeps its own
    for name, key in _keys(prefix).items():
        st.session_state[key] = values[name]
    st.session_state[f"{prefix}_camera_reported"] = _run(prefix)


def view_camera(prefix: str, chart: str, content: tuple) -> dict:
    """The camera to put into a 3-D chart's spec this run (chart: its key; content: what it shows).

    In the run a browser report starts, a chart that shows what it showed in the run before keeps
    the camera its spec had: the browser shows the reported camera there already, and an
    unchanged spec keeps the chart. Any other chart gets the page's camera.
    """
    drawn = st.session_state.setdefault(f"{prefix}_camera_specs", {})
    run, camera = _run(prefix), page_camera(prefix)
    before = drawn.get(chart)
    if (
        st.session_state.get(f"{prefix}_camera_reported") == run
        and before is not None
        and before[0] == content
        and before[2] == run - 1
    ):
        camera = before[1]
    drawn[chart] = (content, camera, run)
    return camera


def camera_sync(prefix: str) -> None:
    """Count this page run, take the browser's latest camera report, and mount the page's camera
    component (before the page's 3-D views, which take their camera from `view_camera`)."""
    st.session_state[f"{prefix}_camera_run"] = _run(prefix) + 1
    _take_report(prefix)
    component = st.components.v2.component(NAME, js=JS)  # same definition each run: registered once
    component(key=f"{prefix}_camera_sync", data={"tag": camera_tag(prefix), "camera": page_camera(prefix)})
