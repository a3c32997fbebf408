"""A minimal one-page PDF of a few lines of text, for the sample company's signed documents."""

from __future__ import annotations

# US Letter in PDF points, with a one-inch margin and 14-point line spacing.
_PAGE_WIDTH = 612
_PAGE_HEIGHT = 792
_MARGIN = 72
_LEADING = 14


def text_pdf(text: str) -> bytes:
    """Return a valid PDF 1.4 file showing each line of ``text`` in 11-point Helvetica.

    Characters outside Latin-1 are shown as "?", because the standard Type 1 fonts have no
    other glyphs.
    """
    commands = [f"BT /F1 11 Tf {_LEADING} TL {_MARGIN} {_PAGE_HEIGHT - _MARGIN} Td"]
    for line in text.splitlines() or [""]:
        commands.append(f"({_escape(line)}) '")
    commands.append("ET")
    stream = "\n".join(commands).encode("latin-1", errors="replace")

    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_PAGE_WIDTH} {_PAGE_HEIGHT}] "
            "/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
        ).encode(),
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    output = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(output))
        output += b"%d 0 obj\n" % number + body + b"\nendobj\n"

    # The cross-reference table gives each object's byte offset in 20-byte entries.
    xref_at = len(output)
    output += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        output += b"%010d 00000 n \n" % offset
    output += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    output += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(output)


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
