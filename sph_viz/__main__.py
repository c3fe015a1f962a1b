"""`python -m sph_viz`: see sph_viz.cli.main."""

import sys

from sph_viz.cli.main import main

sys.exit(main())
