"""Field factories shared by the registry and billing models, so precision is set in one place."""

from django.db import models


def money_field(**kwargs: object) -> models.DecimalField:
    """Return an amount field; 3 decimals cover every ISO 4217 currency in use (BHD, KWD)."""
    return models.DecimalField(max_digits=18, decimal_places=3, **kwargs)  # type: ignore[arg-type]


def price_field(**kwargs: object) -> models.DecimalField:
    """Return a unit price field, with more decimals than any currency has."""
    return models.DecimalField(max_digits=20, decimal_places=6, **kwargs)  # type: ignore[arg-type]


def quantity_field(**kwargs: object) -> models.DecimalField:
    return models.DecimalField(max_digits=18, decimal_places=4, **kwargs)  # type: ignore[arg-type]


def percent_field(**kwargs: object) -> models.DecimalField:
    """Return a percentage field, for a VAT rate (20.00) or a sales tax rate (8.875)."""
    return models.DecimalField(max_digits=9, decimal_places=4, **kwargs)  # type: ignore[arg-type]
