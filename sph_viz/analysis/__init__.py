"""Computations on a trained representation that are not overlap: sphere geometry and angles,
stratified samples, the 2-D angle map, the confusion matrix. NumPy in, arrays out."""
