"""The sample company's accounting mappings for QuickBooks Online and Xero.

They cover the accounts of its chart that journals post to and every tax treatment its
contracts use: German VAT at 19 %, the EU reverse charge, and the sales tax of each US
jurisdiction its customers are in. The Xero account codes follow Xero's default chart (610
Accounts Receivable, 820 Sales Tax).
"""

from __future__ import annotations

from billguard.exports.mappings import MappingRow, mappings_csv, mappings_import
from billguard.sample import reference_data as ref

# GL account code: (QuickBooks Online account name, Xero account code).
ACCOUNTS = {
    "1200": ("Accounts Receivable (A/R)", "610"),
    "2200": ("Sales Tax Payable", "820"),
    "4000": ("Revenue:Subscription revenue", "200"),
    "4100": ("Revenue:Professional services revenue", "210"),
    "4200": ("Revenue:Usage revenue", "220"),
    "4300": ("Revenue:Project milestone revenue", "230"),
    "4900": ("Revenue:Legacy system revenue", "260"),
}
# Treatment key: (QuickBooks Online tax code, Xero tax rate name).
TAX_TREATMENTS = {
    "S:19": ("VAT 19%", "VAT on Income 19%"),
    "AE:0": ("Reverse Charge", "Reverse Charge Services EU"),
    "none": ("", "Tax Exempt"),
}


def sample_mapping_rows() -> list[MappingRow]:
    rows = []
    for code, (quickbooks, xero) in ACCOUNTS.items():
        rows.append(MappingRow("account", code, "quickbooks", quickbooks))
        rows.append(MappingRow("account", code, "xero", xero))
    treatments = dict(TAX_TREATMENTS)
    for _city, state, _zip, _streets, _timezone, rate in ref.US_CITIES:
        name = f"{state} Sales Tax {rate.normalize():f}%"
        treatments[f"US-{state}"] = (name, name)
    for key, (quickbooks, xero) in treatments.items():
        if quickbooks:
            rows.append(MappingRow("tax", key, "quickbooks", quickbooks))
        rows.append(MappingRow("tax", key, "xero", xero))
    return rows


def sample_mappings_create() -> int:
    """Store the sample mappings (one import, one audit entry each); return how many."""
    result = mappings_import(content=mappings_csv(sample_mapping_rows()), source="sample company")
    return result.rows
