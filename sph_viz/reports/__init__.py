"""The papers' claims against the cached results: each claim's recipes, numbers and verdict."""
