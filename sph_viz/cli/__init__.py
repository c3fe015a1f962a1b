"""The command line, `python -m sph_viz COMMAND` (`main`); one module per command family."""
