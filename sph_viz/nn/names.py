"""SphereNet's angular operators by name, importable without torch (settings tables, URLs)."""

OPERATORS = ("linear", "cosine", "sigmoid")  # SphereConv's and the projections' g(theta)
LEARNABLE = (
    "learnable",
    "learnable-official",
)  # SphereConv's learnt k per channel: ours, the official code's
OFFICIAL_K_RAW, OFFICIAL_K_MIN = 0.7, 0.05  # the official TF code: k = |raw| + 0.05, raw from 0.7
SLIDES_K_INIT = 0.5  # ours: every k starts at the slides' 0.5
