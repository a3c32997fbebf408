"""Detection of a document's media type from its bytes, never from its file name.

Recognised: PDF, PNG, JPEG, TIFF, the ZIP-based Office documents DOCX and XLSX (distinguished by
the main part that their ``[Content_Types].xml`` entry declares), XML, and UTF-8 plain text
and CSV. Anything else is ``application/octet-stream``.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import PurePath

from lxml import etree

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCM = "application/vnd.ms-word.document.macroEnabled.12"
XLSM = "application/vnd.ms-excel.sheet.macroEnabled.12"
ZIP = "application/zip"
XML = "application/xml"
CSV = "text/csv"
TEXT = "text/plain"
UNKNOWN = "application/octet-stream"

# Short names for messages and help text.
LABELS: dict[str, str] = {
    PDF: "PDF",
    PNG: "PNG image",
    JPEG: "JPEG image",
    TIFF: "TIFF image",
    DOCX: "Word document (DOCX)",
    XLSX: "Excel workbook (XLSX)",
    DOCM: "macro-enabled Word document (DOCM)",
    XLSM: "macro-enabled Excel workbook (XLSM)",
    ZIP: "ZIP archive",
    XML: "XML",
    CSV: "CSV",
    TEXT: "plain text",
    UNKNOWN: "unrecognised binary data",
}

# The media types that a file name's extension promises. An extension not listed here
# promises nothing, and only the document kind's allowed types apply.
EXTENSION_TYPES: dict[str, frozenset[str]] = {
    ".pdf": frozenset({PDF}),
    ".png": frozenset({PNG}),
    ".jpg": frozenset({JPEG}),
    ".jpeg": frozenset({JPEG}),
    ".tif": frozenset({TIFF}),
    ".tiff": frozenset({TIFF}),
    ".docx": frozenset({DOCX}),
    ".xlsx": frozenset({XLSX}),
    ".docm": frozenset({DOCM}),
    ".xlsm": frozenset({XLSM}),
    ".zip": frozenset({ZIP, DOCX, XLSX, DOCM, XLSM}),
    ".xml": frozenset({XML}),
    # A CSV file of one column has no delimiter, so it reads as plain text.
    ".csv": frozenset({CSV, TEXT}),
    ".txt": frozenset({TEXT, CSV}),
}

# The main part that [Content_Types].xml declares for each Office document type (ECMA-376
# Part 2 names the parts, Part 1 their content types).
_OFFICE_MAIN_PARTS: dict[str, str] = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
    "application/vnd.ms-word.document.macroEnabled.main+xml": DOCM,
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": XLSM,
}
_CONTENT_TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
# A [Content_Types].xml larger than this is not read, which bounds the memory that a
# crafted archive can take; real ones are a few kilobytes.
_CONTENT_TYPES_MAX_BYTES = 1024 * 1024
# Lines of a text file that the CSV test looks at.
_CSV_SAMPLE_LINES = 50
_CSV_DELIMITERS = ",;\t"
_UTF8_BOM = b"\xef\xbb\xbf"


def media_type_sniff(content: bytes) -> str:
    """Return the media type of ``content`` judged by its bytes alone."""
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if content.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_type(content)

    text = _utf8_text(content)
    if text is None:
        return UNKNOWN
    if _is_xml(text):
        return XML
    if _is_csv(text):
        return CSV
    return TEXT


def media_type_label(media_type: str) -> str:
    """Return a short name of ``media_type`` for messages ("PDF", "plain text")."""
    return LABELS.get(media_type, media_type)


def types_for_name(file_name: str) -> frozenset[str] | None:
    """Return the media types that the extension of ``file_name`` promises, or None."""
    return EXTENSION_TYPES.get(PurePath(file_name).suffix.lower())


def _zip_type(content: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            try:
                info = archive.getinfo("[Content_Types].xml")
            except KeyError:
                return ZIP
            if info.file_size > _CONTENT_TYPES_MAX_BYTES:
                return ZIP
            manifest = archive.read(info)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError):
        # RuntimeError: an encrypted entry; NotImplementedError: an unknown compression.
        return UNKNOWN

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(manifest, parser=parser)
    except etree.XMLSyntaxError:
        return ZIP
    for override in root.iter(f"{{{_CONTENT_TYPES_NS}}}Override"):
        detected = _OFFICE_MAIN_PARTS.get(override.get("ContentType", ""))
        if detected is not None:
            return detected
    return ZIP


def _utf8_text(content: bytes) -> str | None:
    """Return ``content`` decoded as UTF-8 text, or None when it is not text."""
    if content.startswith(_UTF8_BOM):
        content = content[len(_UTF8_BOM) :]
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # Text has no control characters other than tab, line feed, carriage return and form feed.
    if any(ord(c) < 32 and c not in "\t\n\r\f" for c in text) or "\x7f" in text:
        return None
    return text


def _is_xml(text: str) -> bool:
    stripped = text.lstrip()
    if stripped.startswith("<?xml"):
        return True
    if not stripped.startswith("<") or len(stripped) < 2 or not _is_name_start(stripped[1]):
        return False
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        etree.fromstring(stripped.encode("utf-8"), parser=parser)
    except etree.XMLSyntaxError:
        return False
    return True


def _is_name_start(character: str) -> bool:
    return character.isalpha() or character in "_:"


def _is_csv(text: str) -> bool:
    """Tell whether ``text`` is a table: at least two lines, each with the same number (two
    or more) of fields for one of the delimiters comma, semicolon or tab."""
    lines = [line for line in text.splitlines() if line.strip()][:_CSV_SAMPLE_LINES]
    if len(lines) < 2:
        return False
    for delimiter in _CSV_DELIMITERS:
        if delimiter not in lines[0]:
            continue
        try:
            widths = {len(row) for row in csv.reader(lines, delimiter=delimiter)}
        except csv.Error:
            continue
        if len(widths) == 1 and widths.pop() >= 2:
            return True
    return False
