"""The forms of the import pages: the upload, and the column mapping of a CSV or XLSX file."""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from billguard.imports.mapped import TARGET_FIELDS
from billguard.registry.models import SellerEntity
from billguard.web.access import Capabilities
from billguard.web.forms import PageForm
from billguard.web.pages.imports.uploads import KINDS, KINDS_BY_VALUE, Kind

# The largest file the upload form takes; larger files go through `billguard import`.
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"
SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def max_upload_bytes() -> int:
    return int(getattr(settings, "BILLGUARD_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


class UploadForm(PageForm):
    kind = forms.ChoiceField(label="What the file holds")
    file = forms.FileField(label="File", allow_empty_file=True)
    companies = forms.FileField(
        label="HubSpot companies file", required=False, allow_empty_file=True
    )
    line_items = forms.FileField(
        label="HubSpot line items file", required=False, allow_empty_file=True
    )
    source = forms.CharField(label="Source system", required=False, max_length=40)
    seller_entity = forms.ChoiceField(label="Seller entity of new contracts", required=False)
    currency = forms.CharField(label="Currency", required=False, max_length=3)

    def __init__(self, *args: Any, can: Capabilities, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = [kind for kind in KINDS if can[kind.action]]
        kind_field = self.fields["kind"]
        assert isinstance(kind_field, forms.ChoiceField)
        kind_field.choices = [("", "Choose what the file holds")] + [
            (kind.value, kind.label) for kind in allowed
        ]
        sellers = list(SellerEntity.objects.order_by("code").values_list("code", "name"))
        seller_field = self.fields["seller_entity"]
        assert isinstance(seller_field, forms.ChoiceField)
        seller_field.choices = [("", "The only seller entity")] + [
            (code, f"{code} ({name})") for code, name in sellers
        ]

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        _check_size(upload, what="The file")
        return upload

    def clean_companies(self) -> UploadedFile | None:
        upload: UploadedFile | None = self.cleaned_data.get("companies")
        if upload is not None:
            _check_size(upload, what="The companies file")
        return upload

    def clean_line_items(self) -> UploadedFile | None:
        upload: UploadedFile | None = self.cleaned_data.get("line_items")
        if upload is not None:
            _check_size(upload, what="The line items file")
        return upload

    def clean_source(self) -> str:
        source: str = self.cleaned_data.get("source", "").strip().lower()
        if source and not SOURCE_NAME.fullmatch(source):
            raise forms.ValidationError(
                f"{source!r} is not a source name. Use lower-case letters, digits, - and _, "
                "such as erp or crm-legacy."
            )
        if source in {"salesforce", "hubspot"}:
            raise forms.ValidationError(
                f"{source!r} is taken by the built-in import of that system. Choose that "
                "system's export above, or name this source differently, such as crm-legacy."
            )
        return source

    def clean_currency(self) -> str:
        currency: str = self.cleaned_data.get("currency", "").strip().upper()
        if currency and not re.fullmatch(r"[A-Z]{3}", currency):
            raise forms.ValidationError(
                f"{currency!r} is not a currency code. Give an ISO 4217 code such as EUR or "
                "USD, or leave it empty."
            )
        return currency

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = KINDS_BY_VALUE.get(data.get("kind", ""))
        if kind is None:
            return data
        upload = data.get("file")
        if upload is not None and not self.has_error("file"):
            message = _content_problem(upload, kind)
            if message:
                self.add_error("file", message)
        for part, what in (("companies", "companies"), ("line_items", "line items")):
            self._check_deals_part(kind, part, what)
        if kind.family == "mapped" and not data.get("source") and not self.has_error("source"):
            self.add_error(
                "source",
                "Name the system the file comes from, such as erp, so that its IDs match the "
                "files imported from it before and its column mapping is found next time.",
            )
        return data

    def _check_deals_part(self, kind: Kind, part: str, what: str) -> None:
        """Require this file with a deals export, and reject it with any other kind."""
        upload = self.cleaned_data.get(part)
        if self.has_error(part):
            return
        if kind.value != "hubspot_deals":
            if upload is not None:
                self.add_error(
                    part,
                    f"Only a HubSpot deals export takes a {what} file. Leave this empty, or "
                    "choose the deals export above.",
                )
            return
        if upload is None:
            self.add_error(
                part,
                f"A deals export is imported with the {what} it names. Choose the {what} "
                "export (CSV) too.",
            )
            return
        message = _content_problem(upload, kind)
        if message:
            self.add_error(part, message)


def _check_size(upload: UploadedFile, *, what: str) -> None:
    size = upload.size or 0
    if size == 0:
        raise forms.ValidationError(
            f"{what} {upload.name!r} is empty (0 bytes). Export it again and choose the new file."
        )
    limit = max_upload_bytes()
    if size > limit:
        raise forms.ValidationError(
            f"{what} {upload.name!r} is {size_text(size)}; the largest file accepted here is "
            f"{size_text(limit)}. Split it, or import it with the billguard command."
        )


def _content_problem(upload: UploadedFile, kind: Kind) -> str:
    """Why the file cannot be a file of ``kind``, judged by its name and its first bytes."""
    name = upload.name or ""
    suffix = Path(name).suffix.lower()
    allowed = " or ".join(kind.extensions)
    if suffix not in kind.extensions:
        return (
            f"{name!r} is not a {allowed} file, and a {kind.label} must be one. Choose the "
            "exported file, or change what the file holds."
        )
    upload.seek(0)
    head = upload.read(64 * 1024)
    upload.seek(0)
    if suffix in {".zip", ".xlsx"}:
        if not head.startswith(ZIP_MAGIC):
            what = "ZIP archive" if suffix == ".zip" else "Excel workbook"
            return (
                f"{name!r} is named {suffix} but is not a {what}. Export it again, or choose "
                "the right file."
            )
        return ""
    if head.startswith(ZIP_MAGIC):
        return (
            f"{name!r} is named .csv but is a ZIP archive or a workbook. Save it as CSV, or "
            "name it .xlsx if it is a workbook."
        )
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError as error:
        return (
            f"{name!r} is not UTF-8 text (byte {error.start} is invalid). Export it again as "
            "CSV in UTF-8."
        )
    if b"\x00" in head:
        return f"{name!r} holds binary data, not CSV text. Export it again as CSV in UTF-8."
    return ""


def field_label(name: str) -> str:
    return name.replace("_", " ")


class MappingForm(PageForm):
    """A select of the file's columns for each field of the target, and the mapping's name."""

    name = forms.SlugField(label="Save the mapping as", max_length=60)

    def __init__(self, *args: Any, target: str, headers: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.target = target
        choices = [("", "Not in the file")] + [(header, header) for header in headers]
        for name, required in TARGET_FIELDS[target].items():
            self.fields[f"field_{name}"] = forms.ChoiceField(
                label=field_label(name),
                choices=choices,
                required=required,
                error_messages={
                    "required": f"Choose the column that holds the {field_label(name)}; "
                    f"{target.replace('_', ' ')} need it.",
                },
            )

    def target_fields(self) -> list[forms.BoundField]:
        return [self[f"field_{name}"] for name in TARGET_FIELDS[self.target]]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        used: dict[str, str] = {}
        for name in TARGET_FIELDS[self.target]:
            column = data.get(f"field_{name}")
            if not column:
                continue
            if column in used:
                self.add_error(
                    f"field_{name}",
                    f"Column {column!r} is chosen for the {field_label(used[column])} already. "
                    "Choose each column for one field only.",
                )
            else:
                used[column] = name
        return data

    def columns(self) -> dict[str, str]:
        """Return the mapping as mapping_save takes it: source column header -> Billguard field."""
        return {
            self.cleaned_data[f"field_{name}"]: name
            for name in TARGET_FIELDS[self.target]
            if self.cleaned_data.get(f"field_{name}")
        }
