"""Figure builders: `compute_*` returns arrays, `make_*_figure` draws them (pure, no model runs).

`style` holds the one look (fonts, palette, circle and sphere traces); `toy`, `sphere`,
`overlap` and `layer` draw each experiment; `reports` assembles a result's standard figures.
"""
