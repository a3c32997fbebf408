import io
import zipfile

import pytest

from billguard.registry import sniffing
from billguard.sample.pdf import text_pdf


def office_file(main_part: str, main_type: str) -> bytes:
    """Build a ZIP with the [Content_Types].xml entry that an Office package starts with."""
    manifest = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="{main_part}" ContentType="{main_type}"/>'
        "</Types>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", manifest)
        archive.writestr(main_part.lstrip("/"), "<document/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return buffer.getvalue()


DOCX_BYTES = office_file(
    "/word/document.xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
)
XLSX_BYTES = office_file(
    "/xl/workbook.xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
)
DOCM_BYTES = office_file(
    "/word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml"
)

CASES = [
    ("pdf", text_pdf("Statement of work"), sniffing.PDF),
    ("png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", sniffing.PNG),
    ("jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", sniffing.JPEG),
    ("tiff little-endian", b"II*\x00\x08\x00\x00\x00", sniffing.TIFF),
    ("tiff big-endian", b"MM\x00*\x00\x00\x00\x08", sniffing.TIFF),
    ("docx", DOCX_BYTES, sniffing.DOCX),
    ("xlsx", XLSX_BYTES, sniffing.XLSX),
    ("docm", DOCM_BYTES, sniffing.DOCM),
    ("zip", plain_zip(), sniffing.ZIP),
    ("broken zip", b"PK\x03\x04not really a zip", sniffing.UNKNOWN),
    ("xml declaration", b'<?xml version="1.0"?><rates/>', sniffing.XML),
    ("xml without declaration", b"\n  <rates><rate>1</rate></rates>", sniffing.XML),
    ("csv", b"code,price\nPLATFORM,1000.00\nSUPPORT,250.00\n", sniffing.CSV),
    ("csv with semicolons", b"code;price\nPLATFORM;1000,00\n", sniffing.CSV),
    ("text", b"Statement of work, signed terms.\nPage 2", sniffing.TEXT),
    ("text with bom", b"\xef\xbb\xbfSigned terms", sniffing.TEXT),
    ("ragged commas", b"Dear Jane,\nthanks, and regards, Bob\n", sniffing.TEXT),
    ("angle bracket text", b"<not xml at all", sniffing.TEXT),
    ("latin-1", "Café".encode("latin-1"), sniffing.UNKNOWN),
    ("binary", b"\x00\x01\x02\x03", sniffing.UNKNOWN),
]


@pytest.mark.parametrize(("content", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_media_type_sniff(content, expected):
    assert sniffing.media_type_sniff(content) == expected


def test_types_for_name_reads_extension_case_blind():
    assert sniffing.types_for_name("SOW.PDF") == frozenset({sniffing.PDF})
    assert sniffing.types_for_name("rates.csv") == frozenset({sniffing.CSV, sniffing.TEXT})
    assert sniffing.types_for_name("scan.unknownext") is None
    assert sniffing.types_for_name("") is None
