"""``billguard documents``: store, list, show and fetch signed documents."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billguard.cli.main import EXIT_OK, output_file, parse_date
from billguard.cli.users import acting_user, add_user_option

if TYPE_CHECKING:
    # Imported for annotations only: Django is set up after the parser is built.

    from billguard.registry.models import Document

logger = logging.getLogger(__name__)


def add_parsers(sub: Any) -> None:
    """Add the ``documents`` command and its actions to the subparsers ``sub``."""
    documents = sub.add_parser("documents", help="store and fetch signed documents")
    actions = documents.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser(
        "add",
        help="store a file as the next revision of a document",
        description="Store FILE as the next revision of the document FAMILY. Its type is "
        "detected from its content and must be one that the kind accepts; earlier revisions "
        "stay stored.",
    )
    add.add_argument("file", type=Path, metavar="FILE")
    add.add_argument("--kind", required=True, help="sow, rate_card, agreement, amendment, ...")
    add.add_argument("--family", required=True, help="key shared by all revisions, such as SOW-C-1")
    add.add_argument("--title", required=True, help="title of the document")
    add.add_argument("--signed-on", type=parse_date, help="signing date, YYYY-MM-DD")
    add.add_argument("--signer", default="", help="name of the person who signed it")
    add.add_argument(
        "--expires-on",
        type=parse_date,
        help="expiry date, YYYY-MM-DD (insurance certificates and tax forms)",
    )
    add_user_option(add)
    add.set_defaults(handler=documents_add)

    listing = actions.add_parser("list", help="list documents, the latest revision of each")
    listing.add_argument("--family", help="only this document family")
    listing.set_defaults(handler=documents_list)

    show = actions.add_parser("show", help="show a document and every revision's SHA-256")
    show.add_argument("id", type=int, metavar="ID")
    show.set_defaults(handler=documents_show)

    get = actions.add_parser(
        "get", help="write a stored revision to a file after checking its SHA-256"
    )
    get.add_argument("id", type=int, metavar="ID")
    get.add_argument("--output", required=True, type=output_file, metavar="FILE")
    add_user_option(get)
    get.set_defaults(handler=documents_get)


def documents_add(args: argparse.Namespace) -> int:
    from billguard.domain.errors import InvalidInput
    from billguard.registry.services.documents import document_store

    user = acting_user(args)
    path: Path = args.file
    try:
        content = path.read_bytes()
    except OSError as error:
        raise InvalidInput(
            f"cannot read the file: {error.strerror}.",
            place=str(path),
            value=str(path),
            fix="Check the path and its permissions.",
        ) from None
    document = document_store(
        content=content,
        kind=args.kind,
        family=args.family,
        title=args.title,
        file_name=path.name,
        signed_on=args.signed_on,
        signer=args.signer,
        expires_on=args.expires_on,
        by=user,
    )
    print(
        f"stored {document} as document {document.pk}: {document.content_type}, "
        f"{document.size} bytes, sha256 {document.sha256}"
    )
    return EXIT_OK


def documents_list(args: argparse.Namespace) -> int:
    from django.db.models import Count, Max

    from billguard.registry.models import Document

    families = Document.objects.values("family").annotate(
        latest=Max("revision"), revisions=Count("id")
    )
    if args.family:
        families = families.filter(family=args.family)
    latest = {(row["family"], row["latest"]): row["revisions"] for row in families}
    rows = [
        document
        for document in Document.objects.filter(family__in={f for f, _ in latest}).order_by(
            "family", "revision"
        )
        if (document.family, document.revision) in latest
    ]
    if not rows:
        print("no documents")
        return EXIT_OK
    print(
        f"{'ID':>6}  {'FAMILY':<24} {'REV':>3}  {'KIND':<21} {'SIGNED':<10} {'EXPIRES':<10} TITLE"
    )
    for document in rows:
        print(
            f"{document.pk:>6}  {document.family:<24} {document.revision:>3}  "
            f"{document.kind:<21} {_date(document.signed_on):<10} "
            f"{_date(document.expires_on):<10} {document.title}"
        )
    return EXIT_OK


def documents_show(args: argparse.Namespace) -> int:
    from billguard.registry.models import Document

    document = _document(args.id)
    print(f"{document}: {document.title}")
    print(f"kind {document.kind}, file {document.file_name or '-'}")
    print(f"{'ID':>6}  {'REV':>3}  {'SHA-256':<64}  {'BYTES':>9}  {'TYPE':<16} SIGNED / BY")
    for revision in Document.objects.filter(family=document.family).order_by("revision"):
        signed = _date(revision.signed_on)
        if revision.signer:
            signed += f" by {revision.signer}"
        print(
            f"{revision.pk:>6}  {revision.revision:>3}  {revision.sha256}  {revision.size:>9}  "
            f"{revision.content_type or '-':<16} {signed}; stored by "
            f"{revision.stored_by or 'system'} on {revision.created_at:%Y-%m-%d}"
        )
    return EXIT_OK


def documents_get(args: argparse.Namespace) -> int:
    from billguard.registry.services.documents import document_read

    user = acting_user(args)
    document = _document(args.id)
    content = document_read(document)
    path: Path = args.output
    path.write_bytes(content)
    logger.info(
        "document %s (%s) written to %s for %s", document.pk, document, path, user.get_username()
    )
    print(f"wrote {document} ({len(content)} bytes, SHA-256 checked) to {path}")
    return EXIT_OK


def _document(pk: int) -> Document:
    from billguard.domain.errors import NotFound
    from billguard.registry.models import Document

    document = Document.objects.filter(pk=pk).first()
    if document is None:
        raise NotFound(
            f"document {pk} does not exist.",
            place="ID",
            value=pk,
            fix="List the documents with `billguard documents list`.",
        )
    return document


def _date(value: Any) -> str:
    return value.isoformat() if value else "-"
