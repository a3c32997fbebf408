"""Invoice, credit-note and payment history imported from accounting systems."""
