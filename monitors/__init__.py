"""Pure monitor computations: Arrow/numpy in, typed results out; no I/O."""
