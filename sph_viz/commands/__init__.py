"""Sub-commands of `python -m sph_viz` kept apart from `cli.py`: each has `add_parser(sub, common)` and
`run(args, device) -> int`; they print, the library does not."""
