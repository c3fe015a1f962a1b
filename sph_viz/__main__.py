"""`python -m sph_viz`: see sph_viz.cli."""

import sys

from sph_viz.cli import main

sys.exit(main())
