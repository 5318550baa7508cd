"""orchestore's triggers, run by the triggerer for deferrable sensors."""
