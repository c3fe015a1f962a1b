"""The experiments: each one module that declares its presets, field table, model config and
builder, run function and cache key; `registry` holds them all."""
