"""Signed documents, stored content-addressed in the "documents" storage.

A stored file's name is the SHA-256 of its bytes (``ab/abcd...``), so identical bytes are
stored once however many revisions point at them, and a revision is never overwritten:
replacing a document stores its next revision beside the earlier ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.db.models import Max

from billguard.controls.policy import policy_setting
from billguard.controls.roles import authorize
from billguard.controls.services import DEFAULT_ACTOR, audit_record
from billguard.domain.errors import InvalidInput, NotFound
from billguard.registry import sniffing
from billguard.registry.models import Document

logger = logging.getLogger(__name__)

STORAGE_ALIAS = "documents"

_CONTRACT_TYPES = (sniffing.PDF, sniffing.DOCX, sniffing.TEXT)
_SCAN_TYPES = (sniffing.PDF, sniffing.PNG, sniffing.JPEG, sniffing.TIFF)

# Media types accepted per kind; settings.DOCUMENT_ALLOWED_TYPES overrides single kinds.
DEFAULT_ALLOWED_TYPES: dict[str, tuple[str, ...]] = {
    Document.Kind.SOW: _CONTRACT_TYPES,
    Document.Kind.AGREEMENT: _CONTRACT_TYPES,
    Document.Kind.AMENDMENT: _CONTRACT_TYPES,
    Document.Kind.VENDOR_AGREEMENT: _CONTRACT_TYPES,
    Document.Kind.RATE_CARD: (*_CONTRACT_TYPES, sniffing.XLSX, sniffing.CSV),
    Document.Kind.INSURANCE_CERTIFICATE: _SCAN_TYPES,
    Document.Kind.TAX_FORM: _SCAN_TYPES,
    Document.Kind.OTHER: (*_CONTRACT_TYPES, *_SCAN_TYPES[1:], sniffing.XLSX, sniffing.CSV),
}

# Kinds that may carry an expiry date, and those of them that must.
EXPIRING_KINDS = frozenset({Document.Kind.INSURANCE_CERTIFICATE, Document.Kind.TAX_FORM})
EXPIRY_REQUIRED_KINDS = frozenset({Document.Kind.INSURANCE_CERTIFICATE})


def document_storage() -> Storage:
    """Return the storage that contains document files (STORAGES["documents"])."""
    return storages[STORAGE_ALIAS]


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
    expires_on: dt.date | None = None,
    by: User | None = None,
) -> Document:
    """Store ``content`` as the next revision of ``family`` and return its record.

    The media type is detected from the bytes and must be one that ``kind`` accepts. A file
    name whose extension promises another type (a ``.pdf`` that is not a PDF) is rejected.
    With ``by``, the user must be allowed to store documents and is recorded as ``stored_by``
    and as the actor of the ``document.store`` audit entry.
    """
    if by is not None:
        authorize(by, "document_store")
    place = file_name or family
    content_type = _validate(
        content=content,
        kind=kind,
        family=family,
        title=title,
        file_name=file_name,
        place=place,
        signed_on=signed_on,
        expires_on=expires_on,
    )

    digest = hashlib.sha256(content).hexdigest()
    name = _stored_name(digest)
    _file_save(name, content)

    # Locks the family's rows on PostgreSQL, so two stores of one family number in turn. The
    # unique (family, revision) constraint rejects a duplicate number on any database.
    latest = Document.objects.select_for_update().filter(family=family).aggregate(Max("revision"))
    revision = (latest["revision__max"] or 0) + 1
    stored_by = by.get_username() if by is not None else ""
    document = Document.objects.create(
        kind=kind,
        family=family,
        revision=revision,
        title=title,
        sha256=digest,
        size=len(content),
        storage_path=name,
        file_name=file_name,
        content_type=content_type,
        expires_on=expires_on,
        stored_by=stored_by,
        signed_on=signed_on,
        signer=signer,
    )
    audit_record(
        actor=stored_by or DEFAULT_ACTOR,
        action="document.store",
        record=document,
        before=None,
        after={
            "family": family,
            "revision": revision,
            "kind": kind,
            "sha256": digest,
            "size": len(content),
            "content_type": content_type,
            "signer": signer,
            "signed_on": signed_on,
            "stored_by": stored_by,
        },
    )
    logger.info(
        "document %s rev %d stored: %s, %d bytes, sha256 %s",
        family,
        revision,
        kind,
        len(content),
        digest,
    )
    return document


def document_read(document: Document) -> bytes:
    """Return the stored bytes of ``document`` after checking them against its SHA-256."""
    storage = document_storage()
    try:
        with storage.open(document.storage_path, "rb") as file:
            content: bytes = file.read()
    except FileNotFoundError:
        raise NotFound(
            f"the stored file of {document} is missing.",
            place=_storage_place(storage, document.storage_path),
            value=document.sha256,
            fix="Restore the file from backup, or check that STORAGES['documents'] points at "
            "the document store.",
        ) from None
    if hashlib.sha256(content).hexdigest() != document.sha256:
        raise InvalidInput(
            f"the stored file of {document} no longer matches its SHA-256 {document.sha256}.",
            place=_storage_place(storage, document.storage_path),
            value=document.sha256,
            fix="Restore the file from backup; it was changed after it was stored.",
        )
    return content


def allowed_types(kind: str) -> tuple[str, ...]:
    """Return the media types that documents of ``kind`` may have."""
    configured: dict[str, list[str]] = getattr(settings, "DOCUMENT_ALLOWED_TYPES", {})
    if kind in configured:
        return tuple(configured[kind])
    return DEFAULT_ALLOWED_TYPES.get(kind, ())


def _validate(
    *,
    content: bytes,
    kind: str,
    family: str,
    title: str,
    file_name: str,
    place: str,
    signed_on: dt.date | None,
    expires_on: dt.date | None,
) -> str:
    """Check the request and return the media type detected from ``content``."""
    if kind not in Document.Kind.values:
        raise InvalidInput(
            f"document kind {kind!r} is unknown.",
            place="kind",
            value=kind,
            fix=f"Use one of: {', '.join(Document.Kind.values)}.",
        )
    if not family.strip():
        raise InvalidInput(
            "the document family is empty.",
            place="family",
            fix="Give the key that all revisions of the document share, such as SOW-C-1.",
        )
    if not title.strip():
        raise InvalidInput("the document title is empty.", place="title", fix="Give a title.")
    for name, value in (("family", family), ("title", title), ("file_name", file_name)):
        max_length = getattr(Document._meta.get_field(name), "max_length", None)
        if max_length is not None and len(value) > max_length:
            raise InvalidInput(
                f"the {name} is {len(value)} characters long, over the limit of {max_length}.",
                place=name,
                value=value,
                fix=f"Shorten the {name}.",
            )
    _validate_expiry(kind=kind, signed_on=signed_on, expires_on=expires_on)

    if not content:
        raise InvalidInput("the document is empty.", place=place, fix="Store a non-empty file.")
    max_bytes = int(policy_setting("document_max_bytes"))
    if len(content) > max_bytes:
        raise InvalidInput(
            f"the document is {len(content)} bytes, over the limit of {max_bytes}.",
            place=place,
            value=len(content),
            fix="Store a compressed or smaller copy, or raise the policy setting "
            "document_max_bytes.",
        )

    detected = sniffing.media_type_sniff(content)
    label = sniffing.media_type_label(detected)
    promised = sniffing.types_for_name(file_name) if file_name else None
    if promised is not None and detected not in promised:
        extension = PurePosixPath(file_name).suffix
        raise InvalidInput(
            f"the file {place!r} is named {extension} but its content is {label} ({detected}).",
            place=place,
            value=detected,
            fix=f"Store the real {extension} file, or rename the file to match its content.",
        )
    allowed = allowed_types(kind)
    if detected not in allowed:
        names = ", ".join(sniffing.media_type_label(t) for t in allowed) or "none"
        raise InvalidInput(
            f"the file {place!r} is {label} ({detected}), "
            f"which a document of kind {kind} may not be.",
            place=place,
            value=detected,
            fix=f"Store it as one of: {names}; or add the type to "
            f"DOCUMENT_ALLOWED_TYPES[{kind!r}] in the settings.",
        )
    return detected


def _validate_expiry(*, kind: str, signed_on: dt.date | None, expires_on: dt.date | None) -> None:
    if expires_on is not None and kind not in EXPIRING_KINDS:
        raise InvalidInput(
            f"a document of kind {kind} has no expiry date.",
            place="expires_on",
            value=expires_on,
            fix="Omit the expiry date; only insurance certificates and tax forms expire.",
        )
    if expires_on is None and kind in EXPIRY_REQUIRED_KINDS:
        raise InvalidInput(
            f"a document of kind {kind} needs the date it expires on.",
            place="expires_on",
            fix="Give the expiry date printed on the certificate.",
        )
    if expires_on is not None and signed_on is not None and expires_on < signed_on:
        raise InvalidInput(
            f"the expiry date {expires_on} is before the signing date {signed_on}.",
            place="expires_on",
            value=expires_on,
            fix="Check both dates on the document.",
        )


def _stored_name(digest: str) -> str:
    return f"{digest[:2]}/{digest}"


def _file_save(name: str, content: bytes) -> None:
    """Save ``content`` under ``name`` unless a file with those bytes is already there."""
    storage = document_storage()
    if storage.exists(name):
        return
    saved = storage.save(name, ContentFile(content))
    if saved != name:
        # Another process saved the same bytes between exists() and save(), and the storage
        # picked a free name for this copy. The content is the same, so keep the first copy.
        storage.delete(saved)


def _storage_place(storage: Storage, name: str) -> str:
    try:
        return storage.path(name)
    except NotImplementedError:
        return name
