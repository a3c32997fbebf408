"""Exports for accounting systems: journals, UBL files per period and findings as CSV."""
