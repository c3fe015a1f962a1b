"""The dashboard's Streamlit helpers; only `app.py` and `pages/` import this package.

`state` (device, store, memo, URL, config file), `widgets` (controls from the field tables),
`exports` (downloads), `runs` (MNIST runs in the background), `views` (CNN-Vis3D views).
"""
