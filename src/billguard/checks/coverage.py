"""Checks of the coverage family."""
