"""The Overlap page's field table: it trains nothing of its own, it reads the Table-3 and CNN-Vis3D runs."""

from __future__ import annotations

from dataclasses import replace

from models.names import HEADS, OPERATORS_T3
from sph_viz.experiments import table3, vis3d
from sph_viz.experiments.base import MAX_SAMPLES, SEED
from sph_viz.experiments.table3 import TAUS
from sph_viz.fields import Field

OVERLAP_LAYERS = ("table3", "vis3d", "upload")
# The Overlap page draws "layer" and "tau", then one expander per named group.
TABLE3_GROUP, VIS3D_GROUP = "Table-3 layer", "CNN-Vis3D bottleneck"
OVERRIDES_GROUP = "Training overrides (0 = the preset's)"
OVERLAP_FIELDS = (
    Field("layer", str, "table3", choices=OVERLAP_LAYERS, label="feature layer"),
    Field("tau", float, 1e-6, 1e-12, 0.5, label="τ: overlap when cosine ≥ 1 − τ", choices=TAUS, log=True),
    Field(
        "dataset",
        str,
        "mnist",
        choices=("mnist", "fashion-mnist"),
        help="Table-3 layer: the data set",
        group=TABLE3_GROUP,
    ),
    Field(
        "recipe",
        str,
        "fast",
        choices=tuple(table3.PRESETS),
        help="Table-3 layer: the training preset",
        group=TABLE3_GROUP,
    ),
    Field(
        "operators",
        str,
        OPERATORS_T3,
        choices=OPERATORS_T3,
        many=True,
        help="Table-3 layer: last layers",
        group=TABLE3_GROUP,
    ),
    Field(
        "seeds",
        str,
        ("0", "1", "2"),
        choices=tuple("01234"),
        many=True,
        help="Table-3 layer: seeds",
        group=TABLE3_GROUP,
    ),
    Field(
        "preset", str, "quick", choices=tuple(vis3d.PRESETS), label="trained with preset", group=VIS3D_GROUP
    ),
    Field(
        "heads",
        str,
        ("original3d", "projected", "spherenet-cosine", "wsoftmax-cosine", "spherized"),
        choices=HEADS,
        many=True,
        group=VIS3D_GROUP,
    ),
    Field("epochs", int, 0, 1, 200, target="train", keep_zero=True, group=OVERRIDES_GROUP),
    replace(MAX_SAMPLES, group=OVERRIDES_GROUP),
    replace(SEED, group=VIS3D_GROUP),
)
