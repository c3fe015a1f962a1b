"""The one training loop (`loop.train_model`) with its config, aids, curves and the process's
resources (device, threads, allocator, cancellation)."""
