"""What runs leave behind and how they are shared: the disk cache, safe model loading, output
files, sweeps (sequential or on Ray) and the server's training queue."""
