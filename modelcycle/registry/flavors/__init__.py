"""Model flavors: one small plugin per library (save, load, predict)."""
