"""PDF rendering of invoices from templates chosen by rule, and their delivery by email."""
