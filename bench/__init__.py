"""Benchmarks: not tests. Each prints its figures and the baseline it compares to (`make bench`)."""
