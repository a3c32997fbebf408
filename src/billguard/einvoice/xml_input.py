"""Parse XML from outside Billguard with a hardened parser and name elements for error messages."""

from __future__ import annotations

from typing import Any

from lxml import etree

from billguard.einvoice.errors import UnreadableDocument
from billguard.einvoice.ubl_names import ACCEPTED_ROOTS, PREFIXES


def parse_xml(data: bytes, *, source: str) -> etree._Element:
    """Parse ``data`` and return its root element; raise UnreadableDocument if it is not XML.

    The parser never loads a DTD, never expands entities and never opens a network connection.
    A document with a DOCTYPE declaration is rejected because UBL 2.1 documents have none.
    """
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        line = error.lineno or 1
        if "Resource limit exceeded" in error.msg:
            # huge_tree stays off, so libxml2 rejects a text node of more than 10,000,000
            # characters, such as a very large embedded attachment.
            raise UnreadableDocument(
                f"the file exceeds a size limit of the XML parser: {error.msg}.",
                place=f"{source}, line {line}",
                value=line,
                fix="Send the invoice without its large attachment, or with a smaller one.",
            ) from error
        raise UnreadableDocument(
            f"the file is not well-formed XML: {error.msg}.",
            place=f"{source}, line {line}",
            value=line,
            fix="Check that the file is a complete XML document; an XML editor shows the error.",
        ) from error
    # lxml-stubs 0.5 lacks DocInfo.doctype, which lxml has.
    docinfo: Any = root.getroottree().docinfo
    doctype = docinfo.doctype
    if doctype:
        raise UnreadableDocument(
            "the XML document contains a DOCTYPE declaration, which UBL 2.1 documents never have.",
            place=source,
            value=doctype,
            fix="Remove the DOCTYPE declaration or export the invoice again as UBL 2.1.",
        )
    return root


def require_ubl_root(root: etree._Element, *, source: str) -> None:
    """Raise UnreadableDocument unless ``root`` is a UBL 2.1 Invoice or CreditNote."""
    if root.tag in ACCEPTED_ROOTS:
        return
    accepted = " or ".join(ACCEPTED_ROOTS)
    raise UnreadableDocument(
        f"the root element is {root.tag}, but a UBL 2.1 document starts with {accepted}.",
        place=source,
        value=root.tag,
        fix="Send the invoice as UBL 2.1 (EN 16931); other formats such as FatturaPA or CII "
        "need converting first.",
    )


def element_path(element: etree._Element) -> str:
    """Return the path of ``element`` from the root, such as /Invoice/cac:InvoiceLine[2]/cbc:ID.

    A step gets a position only when its parent has more than one child of that name.
    """
    steps: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        parent = node.getparent()
        step = _prefixed_name(node)
        if parent is not None:
            siblings = parent.findall(node.tag)
            if len(siblings) > 1:
                step += f"[{siblings.index(node) + 1}]"
        steps.append(step)
        node = parent
    return "/" + "/".join(reversed(steps))


def _prefixed_name(element: etree._Element) -> str:
    qname = etree.QName(element)
    prefix = PREFIXES.get(qname.namespace or "")
    if prefix is None:
        return f"{{{qname.namespace}}}{qname.localname}" if qname.namespace else qname.localname
    return f"{prefix}:{qname.localname}" if prefix else qname.localname
