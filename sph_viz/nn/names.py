"""SphereNet's angular operators by name, importable without torch (settings tables, URLs)."""

OPERATORS = ("linear", "cosine", "sigmoid")  # SphereConv's and the projections' g(theta)
