"""Data sets from disk, never downloaded: IDX folders (MNIST bundled, Fashion-MNIST), CIFAR-10's
binary version, the toy task's points, and user embeddings (NPZ, CSV; never unpickled)."""
