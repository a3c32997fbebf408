"""Payments and disputes against issued invoices, and the receivables ageing."""
