"""Probabilistic record linkage of parties: splink models on DuckDB with fixed parameters.

``matcher.ProbabilisticMatcher`` is the registry's duplicate matcher; ``train`` writes the
model files (``company_model.json``, ``person_model.json``) that it reads.
"""
