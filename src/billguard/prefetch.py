"""Loading many model rows for reading, at a fraction of what the ORM's own path costs.

The billing run reads hundreds of thousands of rows per period (schedule lines, contract
lines, the lines of issued invoices). Django's ``prefetch_related`` builds a related manager
and a filtered queryset per parent row, and ``Model.from_db`` runs ``__init__`` and the init
signals per row. Here the rows come from one ``values_list`` query and become instances
directly, as ``from_db`` leaves them: not adding, bound to the database they came from.

So the instances skip ``pre_init`` and ``post_init``: models loaded here must have no
receivers of those signals (Billguard's have none). Use them for reading. Saving one works
as for any loaded instance.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.db import models
from django.db.models import sql
from django.db.models.base import ModelState
from django.db.models.query import QuerySet

ModelT = TypeVar("ModelT", bound=models.Model)


def load_instances(queryset: QuerySet[ModelT]) -> list[ModelT]:
    """Return the rows of ``queryset`` as instances, with every concrete field loaded.

    The queryset may filter and order, but ``select_related``, ``only`` and annotations are
    not carried over: related objects are loaded on access, as for any instance.
    """
    model = queryset.model
    attnames = [field.attname for field in model._meta.concrete_fields]
    database = queryset.db
    return [
        _instance(model, attnames, values, database) for values in queryset.values_list(*attnames)
    ]


def prefetch_children(
    parents: Sequence[models.Model],
    related_name: str,
    queryset: QuerySet[Any] | None = None,
) -> list[models.Model]:
    """Load the rows of the reverse foreign key ``related_name`` of every parent, as
    ``prefetch_related(related_name)`` does, and return all of them.

    Afterwards ``parent.<related_name>.all()`` reads the loaded rows without a query, in the
    order of ``queryset`` (default: the child model's default ordering), and each child's
    foreign key returns its parent without a query. A query derived from the relation, such
    as ``.filter()`` or ``.order_by()``, goes to the database as it does after
    ``prefetch_related``.
    """
    if not parents:
        return []
    descriptor = getattr(type(parents[0]), related_name)
    field = descriptor.field  # the ForeignKey on the child model
    cache_name = field.remote_field.cache_name
    child_model = field.model
    by_id = {parent.pk: parent for parent in parents}
    base = queryset if queryset is not None else child_model._default_manager.all()
    attnames = [f.attname for f in child_model._meta.concrete_fields]
    database = base.db

    grouped: dict[Any, list[models.Model]] = defaultdict(list)
    children = []
    rows = base.filter(**{f"{field.attname}__in": list(by_id)}).values_list(*attnames)
    for values in rows:
        child = _instance(child_model, attnames, values, database)
        parent_id = child.__dict__[field.attname]
        child._state.fields_cache[field.name] = by_id[parent_id]
        grouped[parent_id].append(child)
        children.append(child)

    # Every parent's loaded rows share one Query, which only a derived query would change, and
    # that starts from a new one (see _LoadedRows._chain). A Query per parent cost more than
    # loading its rows.
    query = sql.Query(child_model)
    for parent in parents:
        cache = parent.__dict__.setdefault("_prefetched_objects_cache", {})
        loaded = _LoadedRows(model=child_model, query=query, using=database)
        loaded._result_cache = grouped.get(parent.pk, [])
        loaded._prefetch_done = True  # type: ignore[attr-defined]
        loaded._parent_filter = {field.name: parent}
        cache[cache_name] = loaded
    return children


def _instance(
    model: type[ModelT], attnames: list[str], values: Iterable[Any], database: str
) -> ModelT:
    instance = model.__new__(model)
    instance.__dict__.update(zip(attnames, values, strict=True))
    state = ModelState()
    state.adding = False
    state.db = database
    instance._state = state
    return instance


class _LoadedRows(QuerySet):
    """The loaded children of one parent, as the prefetch cache of its relation keeps them.

    Iterating, ``len()``, ``count()`` and ``exists()`` read the rows. A derived query starts
    over from the database, restricted to the parent.
    """

    _parent_filter: dict[str, Any]

    def _chain(self) -> QuerySet[Any]:
        manager = self.model._default_manager.db_manager(self.db)
        return manager.filter(**self._parent_filter)
