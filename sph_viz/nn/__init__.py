"""The maths of angles, torch modules and NumPy twins: the spherization layer, the projection
operators (L2, SphereNet, W-Softmax), SphereConv, hyperspherical prototypes, the spread init of a
head and the gradient recorder. The bottom layer: imports nothing else of sph_viz."""
