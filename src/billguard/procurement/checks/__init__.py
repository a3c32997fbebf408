"""The procurement checks: purchase orders and vendor invoices, in the check engine.

Each module registers its checks with ``billguard.checks.engine.check`` and a ``subject`` of
``purchase_order`` or ``vendor_invoice``; ``run_subject_checks`` runs them.
"""

from __future__ import annotations

import importlib
import pkgutil


def load_procurement_checks() -> None:
    """Import every module of this package, which registers its checks."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
