"""Benchmark of the billing run on a large generated book; ``make bench`` runs it.

``python -m benchmarks --help`` lists the options; docs/benchmarks.md records the figures.
"""
