"""sph-viz: see what a network learns when it may use only angles.

The core library; it knows nothing of Streamlit. Public names:
`Spherization`, `SphericalLinear`, `overlap_stats`, `OverlapStats`.
"""

from sph_viz.layers import SphericalLinear, Spherization
from sph_viz.overlap import OverlapStats, overlap_stats

__all__ = ["OverlapStats", "SphericalLinear", "Spherization", "overlap_stats"]
__version__ = "0.1.0"
