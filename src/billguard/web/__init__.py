"""The web application: pages for operations, finance and procurement over the same services."""
