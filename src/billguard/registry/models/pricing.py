"""Price lists with validity periods, the fallback when a contract line has no own price."""

from django.db import models

from billguard.registry.models.fields import price_field


class PriceList(models.Model):
    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3)

    def __str__(self) -> str:
        return self.code


class PriceListItem(models.Model):
    """The unit price of a product from ``valid_from`` up to, not including, ``valid_to``."""

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    product_code = models.CharField(max_length=40)
    unit_price = price_field()
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["price_list", "product_code", "valid_from"])]
