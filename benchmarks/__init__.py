"""Side-by-side benchmarks: orchestore against the raw SDKs and its peers, reported as ratios."""
