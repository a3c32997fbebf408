"""Files uploaded for an import, kept on disk between the upload, mapping, preview and commit.

Each upload gets a folder with a random name under ``VAR_DIR/uploads``. It contains the file
as sent, the files sent with it (the companies and line items of a HubSpot deals export,
each in a sub-folder named after its kind), ``upload.json`` (what
the file is and who sent it) and ``preview.json`` (the dry run's result, so that its pages of
problems are read without importing again). The folder is removed once the file is imported,
and folders older than a week are removed when the next file is uploaded.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import Http404
from django.utils.text import get_valid_filename

# How long an upload that was never imported is kept.
KEEP_SECONDS = 7 * 24 * 3600
TOKEN = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Kind:
    """A kind of uploaded file: its label, the import it goes to, and the action that needs."""

    value: str
    label: str
    extensions: tuple[str, ...]
    action: str
    # salesforce, hubspot, mapped or history.
    family: str
    # HubSpot's file kind, the mapping target, or the history file kind.
    part: str = ""
    # quickbooks or xero, for history files.
    system: str = ""


CRM_ACTION = "contract_create"
HISTORY_ACTION = "history_import"

KINDS: tuple[Kind, ...] = (
    Kind("salesforce", "Salesforce Data Export (ZIP)", (".zip",), CRM_ACTION, "salesforce"),
    Kind(
        "hubspot_companies", "HubSpot companies export (CSV)", (".csv",), CRM_ACTION, "hubspot",
        "companies",
    ),
    Kind(
        "hubspot_deals", "HubSpot deals export with its companies and line items (CSV)",
        (".csv",), CRM_ACTION, "hubspot", "deals",
    ),
    Kind(
        "mapped_customers", "Customers from a CSV or XLSX file (column mapping)",
        (".csv", ".xlsx"), CRM_ACTION, "mapped", "customers",
    ),
    Kind(
        "mapped_contracts", "Contracts from a CSV or XLSX file (column mapping)",
        (".csv", ".xlsx"), CRM_ACTION, "mapped", "contracts",
    ),
    Kind(
        "mapped_contract_lines", "Contract lines from a CSV or XLSX file (column mapping)",
        (".csv", ".xlsx"), CRM_ACTION, "mapped", "contract_lines",
    ),
    Kind(
        "mapped_price_list_items", "Price list items from a CSV or XLSX file (column mapping)",
        (".csv", ".xlsx"), CRM_ACTION, "mapped", "price_list_items",
    ),
    Kind(
        "quickbooks_invoices", "QuickBooks Online invoices (history, CSV or XLSX)",
        (".csv", ".xlsx"), HISTORY_ACTION, "history", "invoices", "quickbooks",
    ),
    Kind(
        "quickbooks_credit_notes", "QuickBooks Online credit memos (history, CSV or XLSX)",
        (".csv", ".xlsx"), HISTORY_ACTION, "history", "credit_notes", "quickbooks",
    ),
    Kind(
        "quickbooks_payments", "QuickBooks Online payments (history, CSV or XLSX)",
        (".csv", ".xlsx"), HISTORY_ACTION, "history", "payments", "quickbooks",
    ),
    Kind(
        "xero_invoices", "Xero sales invoices (history, CSV or XLSX)", (".csv", ".xlsx"),
        HISTORY_ACTION, "history", "invoices", "xero",
    ),
    Kind(
        "xero_credit_notes", "Xero credit notes (history, CSV or XLSX)", (".csv", ".xlsx"),
        HISTORY_ACTION, "history", "credit_notes", "xero",
    ),
    Kind(
        "xero_payments", "Xero payments (history, CSV or XLSX)", (".csv", ".xlsx"),
        HISTORY_ACTION, "history", "payments", "xero",
    ),
)  # fmt: skip
KINDS_BY_VALUE = {kind.value: kind for kind in KINDS}


@dataclass
class Upload:
    """One uploaded file waiting to be mapped, previewed and imported."""

    token: str
    kind: str
    name: str
    uploaded_by: str
    uploaded_at: float
    size: int
    # Files sent with it, by kind: the "companies" and "line_items" of a HubSpot deals export.
    extra: dict[str, str] = field(default_factory=dict)
    # Options of the import: seller entity code, currency.
    options: dict[str, str] = field(default_factory=dict)
    # The saved column mapping the file is read through (mapped files only).
    mapping: str = ""

    @property
    def folder(self) -> Path:
        return uploads_dir() / self.token

    @property
    def path(self) -> Path:
        return self.folder / self.name

    def extra_path(self, part: str) -> Path:
        return self.folder / part / self.extra[part]

    @property
    def spec(self) -> Kind:
        return KINDS_BY_VALUE[self.kind]

    def content(self) -> bytes:
        return self.path.read_bytes()

    def save(self) -> None:
        _write_json(self.folder / "upload.json", asdict(self))

    def preview(self) -> dict[str, Any] | None:
        path = self.folder / "preview.json"
        if not path.is_file():
            return None
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded

    def preview_save(self, preview: dict[str, Any]) -> None:
        _write_json(self.folder / "preview.json", preview)

    def preview_forget(self) -> None:
        (self.folder / "preview.json").unlink(missing_ok=True)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def uploads_dir() -> Path:
    return Path(settings.VAR_DIR) / "uploads"


def safe_name(name: str) -> str:
    """Reduce a file's own name to characters that are safe on any file system."""
    base = Path(name).name
    try:
        cleaned = get_valid_filename(base)
    except Exception:
        cleaned = ""
    return cleaned[:120] or "upload"


def upload_create(
    *,
    kind: str,
    name: str,
    chunks: Any,
    size: int,
    by: str,
    options: dict[str, str],
    extra: dict[str, tuple[str, Any]] | None = None,
) -> Upload:
    """Write the uploaded file and the files sent with it into a new folder with a random name.

    ``chunks`` and the second item of each ``extra`` value are iterables of bytes.
    """
    _forget_old()
    token = secrets.token_hex(16)
    upload = Upload(
        token=token,
        kind=kind,
        name=safe_name(name),
        uploaded_by=by,
        uploaded_at=time.time(),
        size=size,
        options=options,
    )
    upload.folder.mkdir(parents=True, exist_ok=False)
    _write_chunks(upload.path, chunks)
    for part, (name, part_chunks) in (extra or {}).items():
        upload.extra[part] = safe_name(name)
        upload.extra_path(part).parent.mkdir()
        _write_chunks(upload.extra_path(part), part_chunks)
    upload.save()
    return upload


def upload_get(token: str, *, by: str) -> Upload:
    """Load the upload ``token`` of the user ``by``.

    Raises Http404 for an unknown token and for another user's upload, so that an upload's
    address reveals nothing to anyone but its sender.
    """
    if not TOKEN.fullmatch(token):
        raise Http404("No such upload.")
    path = uploads_dir() / token / "upload.json"
    if not path.is_file():
        raise Http404("No such upload: it was imported already or removed after a week.")
    data = json.loads(path.read_text(encoding="utf-8"))
    upload = Upload(**data)
    if upload.uploaded_by != by:
        raise Http404("No such upload.")
    return upload


def _write_chunks(path: Path, chunks: Any) -> None:
    with path.open("wb") as handle:
        for chunk in chunks:
            handle.write(chunk)


def _write_json(path: Path, data: Any) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data), encoding="utf-8")
    temporary.replace(path)


def _forget_old() -> None:
    root = uploads_dir()
    if not root.is_dir():
        return
    limit = time.time() - KEEP_SECONDS
    for folder in root.iterdir():
        if folder.is_dir() and TOKEN.fullmatch(folder.name) and folder.stat().st_mtime < limit:
            shutil.rmtree(folder, ignore_errors=True)
