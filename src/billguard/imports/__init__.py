"""Imports of customers, contracts and price lists from CRM exports and mapped spreadsheets."""
