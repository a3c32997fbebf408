"""Signed documents, stored content-addressed: the file name is the SHA-256 of its bytes."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from billguard.controls.roles import authorize
from billguard.domain.errors import InvalidInput
from billguard.registry.models import Document

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_DOCUMENT_BYTES = 25 * 1024 * 1024


def document_root() -> Path:
    return Path(settings.VAR_DIR) / "documents"


@transaction.atomic
def document_store(
    *,
    content: bytes,
    kind: str,
    family: str,
    title: str,
    file_name: str = "",
    signed_on: dt.date | None = None,
    signer: str = "",
    by: User | None = None,
) -> Document:
    """Store ``content`` as the next revision of ``family`` and return its record.

    Identical bytes are written once on disk however many revisions point at them.
    """
    if by is not None:
        authorize(by, "document_store")
    if kind not in Document.Kind.values:
        raise InvalidInput(
            f"document kind {kind!r} is unknown.",
            place="kind",
            value=kind,
            fix=f"Use one of: {', '.join(Document.Kind.values)}.",
        )
    if not content:
        raise InvalidInput("the document is empty.", place=file_name or family)
    if len(content) > MAX_DOCUMENT_BYTES:
        raise InvalidInput(
            f"the document is {len(content)} bytes, over the limit of {MAX_DOCUMENT_BYTES}.",
            place=file_name or family,
            fix="Store a compressed or smaller copy.",
        )
    digest = hashlib.sha256(content).hexdigest()
    relative = Path(digest[:2]) / digest
    path = document_root() / relative
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".part")
        temporary.write_bytes(content)
        temporary.replace(path)

    latest = Document.objects.select_for_update().filter(family=family).aggregate(Max("revision"))
    revision = (latest["revision__max"] or 0) + 1
    return Document.objects.create(
        kind=kind,
        family=family,
        revision=revision,
        title=title,
        sha256=digest,
        size=len(content),
        storage_path=str(relative),
        file_name=file_name,
        signed_on=signed_on,
        signer=signer,
    )


def document_read(document: Document) -> bytes:
    """Return the stored bytes after checking them against the recorded SHA-256."""
    content = (document_root() / document.storage_path).read_bytes()
    if hashlib.sha256(content).hexdigest() != document.sha256:
        raise InvalidInput(
            f"the stored file of {document} no longer matches its SHA-256 {document.sha256}.",
            place=str(document_root() / document.storage_path),
            fix="Restore the file from backup; it was changed after it was stored.",
        )
    return content
