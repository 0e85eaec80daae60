"""Container runtimes behind one CRI-shaped seam: the fake (tests, benchmarks) and real ones."""
