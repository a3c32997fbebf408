"""Writes to the registry. Every channel (CLI, imports, later the API and pages) calls these."""
