"""Billguard: keeps signed contract terms as the source of truth and checks every invoice."""

__version__ = "0.1.0"
