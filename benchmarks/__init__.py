"""cx360 benchmarks: they print tables and write JSON under benchmarks/results/, never assert time."""
