"""One file per steady-state solver."""
