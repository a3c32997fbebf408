"""The ``billguard import`` subcommands: Salesforce and HubSpot exports, mapped files, runs.

An import writes everything or nothing and exits 2 with every problem listed when a value is
bad. Running it again on the same files changes nothing and reports that.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billguard.cli.main import EXIT_OK, parse_date
from billguard.cli.users import acting_user, add_user_option

if TYPE_CHECKING:
    from billguard.imports.models import ImportRun


def add_parsers(sub: Any) -> None:
    """Add ``import`` and its actions to the top-level subparsers."""
    parser = sub.add_parser(
        "import",
        help="import customers, contracts and price lists from CRM exports or mapped files",
        description="Every import validates every row of every file first, then writes all "
        "of it in one transaction or nothing. A changed billing-critical field of a record "
        "imported before becomes a change request. See docs/imports.md.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    sf = actions.add_parser("salesforce", help="import a Salesforce Data Export ZIP")
    sf.add_argument("zip", type=Path, metavar="ZIP")
    sf.add_argument(
        "--currency",
        metavar="CODE",
        help="the organisation's currency, for an export without CurrencyIsoCode columns",
    )
    sf.add_argument(
        "--prices-valid-from",
        type=parse_date,
        metavar="DATE",
        help="first day of the imported price book prices (default: the earliest contract start)",
    )
    _add_common(sf)
    sf.set_defaults(handler=import_salesforce)

    hs = actions.add_parser("hubspot", help="import HubSpot companies, deals and line items")
    hs.add_argument("--companies", type=Path, metavar="FILE", help="the companies export (CSV)")
    hs.add_argument("--deals", type=Path, metavar="FILE", help="the deals export (CSV)")
    hs.add_argument("--line-items", type=Path, metavar="FILE", help="the line items export (CSV)")
    hs.add_argument(
        "--currency",
        metavar="CODE",
        help="the deals' currency when the export has no Currency column",
    )
    _add_common(hs)
    hs.set_defaults(handler=import_hubspot)

    file = actions.add_parser(
        "file",
        help="import CSV or XLSX files through saved column mappings",
        description="Give one --mapping per file, in the same order: "
        "billguard import file customers.csv contracts.xlsx --mapping erp-customers "
        "--mapping erp-contracts.",
    )
    file.add_argument("files", type=Path, nargs="+", metavar="FILE")
    file.add_argument(
        "--mapping", action="append", required=True, metavar="NAME", help="the mapping of a file"
    )
    _add_common(file)
    file.set_defaults(handler=import_file)

    mappings = actions.add_parser("mappings", help="save, list and show column mappings")
    mapping_actions = mappings.add_subparsers(
        dest="mapping_action", metavar="ACTION", required=True
    )
    save = mapping_actions.add_parser("save", help="save or replace a column mapping")
    save.add_argument("name", metavar="NAME")
    save.add_argument(
        "--target",
        required=True,
        choices=("customers", "contracts", "contract_lines", "price_list_items"),
    )
    save.add_argument(
        "--source",
        default="",
        metavar="NAME",
        help="the system the external IDs come from (default: the mapping's name); mappings "
        "of one system share it so their IDs match",
    )
    save.add_argument(
        "--column",
        action="append",
        required=True,
        metavar='"HEADER=FIELD"',
        help="a source column header and the Billguard field it maps to; repeat for each column",
    )
    add_user_option(save)
    save.set_defaults(handler=mappings_save)
    listing = mapping_actions.add_parser("list", help="list the saved mappings")
    listing.set_defaults(handler=mappings_list)
    show = mapping_actions.add_parser("show", help="show one mapping's columns")
    show.add_argument("name", metavar="NAME")
    show.set_defaults(handler=mappings_show)

    runs = actions.add_parser(
        "runs", help="list the import runs, newest first, or show one run's records"
    )
    runs.add_argument("id", type=int, nargs="?", metavar="ID", help="show this run's records")
    runs.add_argument("--limit", type=int, default=20, metavar="N", help="at most N runs (20)")
    runs.set_defaults(handler=runs_list)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="validate and report what would be created, updated and requested; write nothing",
    )
    parser.add_argument(
        "--seller-entity",
        metavar="CODE",
        help="our seller entity of the new contracts (needed when there is more than one)",
    )
    parser.add_argument(
        "--contract-type",
        default="subscription",
        choices=("subscription", "services", "usage", "project"),
        help="the type of the new contracts (default: subscription)",
    )
    add_user_option(parser)


def _read(path: Path, option: str) -> bytes:
    from billguard.domain.errors import InvalidInput

    try:
        return path.read_bytes()
    except OSError as error:
        raise InvalidInput(
            f"cannot read {path}: {error.strerror}.",
            place=option,
            value=str(path),
            fix="Give the path of an existing, readable file.",
        ) from None


def import_salesforce(args: argparse.Namespace) -> int:
    from billguard.imports.services import import_salesforce as run_import

    by = acting_user(args)
    content = _read(args.zip, "ZIP")
    with _progress() as bar:
        run = run_import(
            content=content,
            name=args.zip.name,
            by=by,
            dry_run=args.dry_run,
            currency=args.currency,
            seller_entity=args.seller_entity,
            contract_type=args.contract_type,
            prices_valid_from=args.prices_valid_from,
            progress=bar.update,
        )
    return _report(run)


def import_hubspot(args: argparse.Namespace) -> int:
    from billguard.imports.services import import_hubspot as run_import

    by = acting_user(args)
    files = {
        kind: (path.name, _read(path, f"--{kind.replace('_', '-')}"))
        for kind, path in (
            ("companies", args.companies),
            ("deals", args.deals),
            ("line_items", args.line_items),
        )
        if path is not None
    }
    if not files:
        from billguard.domain.errors import InvalidInput

        raise InvalidInput(
            "no export file was given.",
            place="--companies",
            fix="Give at least one of --companies, --deals and --line-items.",
        )
    with _progress() as bar:
        run = run_import(
            files=files,
            by=by,
            dry_run=args.dry_run,
            currency=args.currency,
            seller_entity=args.seller_entity,
            contract_type=args.contract_type,
            progress=bar.update,
        )
    return _report(run)


def import_file(args: argparse.Namespace) -> int:
    from billguard.domain.errors import InvalidInput
    from billguard.imports.services import import_file as run_import

    if len(args.mapping) != len(args.files):
        raise InvalidInput(
            f"{len(args.files)} file(s) and {len(args.mapping)} mapping(s) were given.",
            place="--mapping",
            fix="Give one --mapping for each file, in the order of the files.",
        )
    by = acting_user(args)
    files = [
        (path.name, _read(path, "FILE"), mapping)
        for path, mapping in zip(args.files, args.mapping, strict=True)
    ]
    with _progress() as bar:
        run = run_import(
            files=files,
            by=by,
            dry_run=args.dry_run,
            seller_entity=args.seller_entity,
            contract_type=args.contract_type,
            progress=bar.update,
        )
    return _report(run)


def _progress() -> Any:
    from billguard.cli.progress import ProgressBar

    return ProgressBar("importing", unit="records")


def _report(run: ImportRun) -> int:
    from billguard.controls.services import audit_checkpoint

    if not run.dry_run:
        audit_checkpoint()
    _print_run(run, every_record=False)
    return EXIT_OK


def _print_run(run: ImportRun, *, every_record: bool) -> None:
    """Print a run's files, counts and records; unchanged records only with ``every_record``."""
    print(
        f"import run {run.pk} ({run.source}){' - dry run, nothing written' if run.dry_run else ''}"
    )
    for name, sha in ((f["name"], f["sha256"]) for f in run.files):
        print(f"  {name}  sha256 {sha[:16]}...")
    pending = sorted(
        {item["pending_request"] for item in run.details if item.get("pending_request")}
    )
    waiting = f"; change requests still pending from earlier imports: {pending}" if pending else ""
    nothing_changed = run.created == run.updated == run.change_requests == 0
    if nothing_changed:
        print(
            f"nothing changed: all {run.unchanged} records are in the registry as imported{waiting}"
        )
    elif run.dry_run:
        print(
            f"would create {run.created}, update {run.updated} and request "
            f"{run.change_requests} change(s); {run.unchanged} unchanged{waiting}"
        )
    else:
        print(
            f"created {run.created}, updated {run.updated}, requested {run.change_requests} "
            f"change(s); {run.unchanged} unchanged{waiting}"
        )
    if nothing_changed and not every_record:
        return
    for item in run.details:
        if item["action"] == "unchanged" and not every_record:
            continue
        extra = ""
        if item.get("fields"):
            extra = f" ({', '.join(item['fields'])})"
        if item["action"] == "change_request" and run.dry_run:
            extra += f" -> a change request, {item.get('status', '')}"
        elif item.get("change_request"):
            extra += f" -> change request {item['change_request']} {item.get('status', '')}"
        elif item.get("pending_request"):
            extra += f" (change request {item['pending_request']} still pending)"
        print(f"  {item['action']:<15} {item['object_type']:<16} {item['label']}{extra}")


def mappings_save(args: argparse.Namespace) -> int:
    from billguard.domain.errors import InvalidInput
    from billguard.imports.services import mapping_save

    columns: dict[str, str] = {}
    for item in args.column:
        header, sep, field_name = item.rpartition("=")
        if not sep or not header.strip() or not field_name.strip():
            raise InvalidInput(
                f"{item!r} is not HEADER=FIELD.",
                place="--column",
                value=item,
                fix='Write it as --column "Customer ID=external_id".',
            )
        columns[header.strip()] = field_name.strip()
    mapping = mapping_save(
        name=args.name,
        target=args.target,
        source=args.source,
        columns=columns,
        by=acting_user(args),
    )
    print(
        f"saved mapping {mapping.name}: {mapping.target} from {mapping.source}, "
        f"{len(columns)} columns"
    )
    return EXIT_OK


def mappings_list(args: argparse.Namespace) -> int:
    from billguard.imports.models import ColumnMapping

    mappings = list(ColumnMapping.objects.select_related("saved_by").order_by("name"))
    if not mappings:
        print("no column mappings saved yet; save one with `billguard import mappings save`")
        return EXIT_OK
    for mapping in mappings:
        print(
            f"{mapping.name:<24} {mapping.target:<16} source {mapping.source:<12} "
            f"{len(mapping.columns)} columns, saved by {mapping.saved_by.get_username()} "
            f"on {mapping.saved_at:%Y-%m-%d}"
        )
    return EXIT_OK


def mappings_show(args: argparse.Namespace) -> int:
    from billguard.imports.services import mapping_get

    mapping = mapping_get(args.name)
    print(f"mapping {mapping.name}: target {mapping.target}, source {mapping.source}")
    for column, field_name in mapping.columns.items():
        print(f"  {column!r:<30} -> {field_name}")
    return EXIT_OK


def runs_list(args: argparse.Namespace) -> int:
    from billguard.domain.errors import NotFound
    from billguard.imports.models import ImportRun

    if args.id is not None:
        run = ImportRun.objects.filter(pk=args.id).first()
        if run is None:
            raise NotFound(
                f"import run {args.id} was not found.",
                place="ID",
                value=args.id,
                fix="List the runs with `billguard import runs`.",
            )
        who = run.run_by.get_username() if run.run_by else "-"
        print(f"run by {who} at {run.started_at:%Y-%m-%d %H:%M}")
        _print_run(run, every_record=True)
        return EXIT_OK

    runs = list(ImportRun.objects.select_related("run_by")[: max(args.limit, 1)])
    if not runs:
        print("no imports yet")
        return EXIT_OK
    for run in runs:
        names = ", ".join(f["name"] for f in run.files)
        print(
            f"{run.pk:>5} {run.started_at:%Y-%m-%d %H:%M} {run.source:<10} "
            f"{'dry run ' if run.dry_run else ''}{run.created} created, {run.updated} updated, "
            f"{run.unchanged} unchanged, {run.change_requests} requests; "
            f"{run.run_by.get_username() if run.run_by else '-'}; {names}"
        )
    return EXIT_OK
