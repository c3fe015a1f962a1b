"""The MNIST copy bundled with the project: where it lives and whom to credit.

NumPy-free and torch-free, so a page that only names the data set (Home) loads neither;
`sph_viz.data.idx` re-exports both names.
"""

from pathlib import Path

BUNDLED_MNIST = Path(__file__).resolve().parents[2] / "data" / "mnist"  # the repository's data/
MNIST_CREDIT = "MNIST by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, licensed under CC BY-SA 3.0."
