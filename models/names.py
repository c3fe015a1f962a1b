"""The names of the models' variants, importable without torch.

The settings tables, the URL and the command line's choices need only these names; the Layer
explorer and Home draw without torch, so the names cannot live beside the modules that build
the nets (each of those imports torch and re-exports its names from here).
"""

from sph_viz.nn.names import OPERATORS  # SphereNet's operators (sph_viz.nn.projections)

HEADS = (  # CNN-Vis3D's heads (models.vis3d)
    "original2d",
    "original3d",
    "projected",
    "spherized",
    *(f"spherenet-{op}" for op in OPERATORS),
    *(f"wsoftmax-{op}" for op in OPERATORS),
)
OPERATORS_T3 = (  # Table 3's last layers, named as in the paper (models.table3)
    "original",
    "sigmoid",
    "linear",
    "cosine",
    "sw-softmax",
    "lw-softmax",
    "cw-softmax",
    "spherization",
)
TOY_KINDS = ("original", "spherized")  # the toy nets (models.toy)
