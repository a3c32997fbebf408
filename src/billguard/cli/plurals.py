"""Counted nouns for command output: "1 vendor invoice", "2 vendor invoices"."""

from __future__ import annotations


def count_noun(count: int, singular: str, plural: str | None = None) -> str:
    """Return ``count`` with the singular noun for exactly one and the plural otherwise.

    Without ``plural``, the plural is the singular with an "s" appended.
    """
    noun = singular if count == 1 else (plural or f"{singular}s")
    return f"{count} {noun}"
