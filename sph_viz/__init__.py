"""sph-viz: see what a network learns when it may use only angles.

The core library; it knows nothing of Streamlit. Public names:
`Spherization`, `SphericalLinear`, `overlap_stats`, `OverlapStats`. They are imported on first
use (PEP 562), so importing a light submodule (`sph_viz.formulas`, `sph_viz.app.text`) does not
pull in torch and scipy.
"""

from importlib import import_module

_PUBLIC = {
    "SphericalLinear": "sph_viz.nn.layers",
    "Spherization": "sph_viz.nn.layers",
    "OverlapStats": "sph_viz.overlap",
    "overlap_stats": "sph_viz.overlap",
}
__all__ = sorted(_PUBLIC)
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'sph_viz' has no attribute {name!r}")
