"""The ``billguard policy`` subcommands: export, import and show the control policy."""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from billguard.cli.main import EXIT_OK, output_file
from billguard.cli.users import acting_user, add_user_option

if TYPE_CHECKING:
    from billguard.controls.policy_document import PolicyDocument


def add_policy_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``policy export``, ``policy import`` and ``policy show`` to the command parser."""
    policy = sub.add_parser(
        "policy",
        help="export, import or show the control policy",
        description="The control policy (billing-critical fields, approval rules, settings, "
        "check modes, mandatory fields, contract templates, vendor onboarding checklist) is "
        "kept in the database. Export it as YAML, edit the file, and import it: the import is "
        "a change request that takes effect once approved.",
    )
    actions = policy.add_subparsers(dest="action", metavar="ACTION", required=True)

    export = actions.add_parser("export", help="write the policy as YAML")
    export.add_argument(
        "--output",
        type=output_file,
        metavar="FILE",
        help="write to this file (default: standard output)",
    )
    export.set_defaults(handler=policy_export_command)

    load = actions.add_parser(
        "import",
        help="request that the policy be replaced by a YAML file",
        description="Validate FILE, then create a change request for the whole policy and "
        "print its id. Nothing changes until the request is approved.",
    )
    load.add_argument("file", type=Path, metavar="FILE")
    load.add_argument("--reason", required=True, help="why the policy changes")
    add_user_option(load)
    load.set_defaults(handler=policy_import_command)

    show = actions.add_parser("show", help="print a summary of the policy")
    show.set_defaults(handler=policy_show_command)


def policy_export_command(args: argparse.Namespace) -> int:
    from billguard.controls.policy_yaml import policy_export

    text = policy_export()
    if args.output is None:
        print(text, end="")
        return EXIT_OK
    args.output.write_text(text, encoding="utf-8")
    print(f"policy written to {args.output}")
    return EXIT_OK


def policy_import_command(args: argparse.Namespace) -> int:
    from billguard.controls.policy_yaml import policy_load_yaml
    from billguard.controls.services import audit_checkpoint
    from billguard.domain.errors import InvalidInput

    user = acting_user(args)
    path: Path = args.file
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(
            f"cannot read the policy file: {error}.",
            place=str(path),
            value=str(path),
            fix="Give the path of a readable UTF-8 YAML file.",
        ) from None
    policy_load_yaml(text, str(path))

    from billguard.controls.requests import change_request_create

    request = change_request_create(
        by=user,
        target="policy",
        target_id="policy",
        changes={"yaml": text},
        reason=args.reason,
        channel="cli",
    )
    audit_checkpoint()
    print(
        f"change request {request.pk} created: the policy of {path} replaces the current one "
        f"once approved (status {request.status})"
    )
    return EXIT_OK


def policy_show_command(args: argparse.Namespace) -> int:
    from billguard.controls.policy_yaml import policy_document_load

    print(policy_summary(policy_document_load()))
    return EXIT_OK


def policy_summary(document: PolicyDocument) -> str:
    """Return the policy as readable text, one section after the other."""
    from billguard.controls.models.policy import Mode
    from billguard.controls.policy_scorecard import (
        SCORECARD_COMPONENTS,
        ZERO_POINTS_AT_LABELS,
        ScorecardPolicy,
    )

    lines = ["Billing-critical fields"]
    for target, categories in _critical_by_target(document).items():
        lines.append(f"  {target}")
        for category, attributes in categories.items():
            lines.append(f"    {category:<22}{', '.join(attributes)}")

    lines += ["", "Approval rules"]
    for rule in document.approval_rules:
        condition = f" above {rule.threshold.normalize():f}" if rule.threshold is not None else ""
        scope = f" for {rule.scope} {rule.scope_value}" if rule.scope_value else ""
        mode = " (observe)" if rule.mode == Mode.OBSERVE else ""
        lines.append(
            f"  {rule.name}: {rule.subject}{condition}{scope} needs {rule.approvals} "
            f"{rule.role}{mode}"
        )

    lines += ["", "Settings"]
    lines += [f"  {key:<32}{value}" for key, value in document.settings.items()]

    lines += ["", "Check modes (the most specific entry wins)"]
    for entry in document.check_modes:
        scope = f"{entry.scope} {entry.scope_value}".strip()
        lines.append(f"  {entry.check_code:<32}{scope:<30}{entry.mode}")

    lines += ["", "Mandatory contract fields"]
    for contract_type, names in document.mandatory_fields.items():
        lines.append(f"  {contract_type:<14}{', '.join(names)}")

    lines += ["", "Contract templates"]
    for template in document.contract_templates:
        terms = f"{template.payment_terms_days} days" if template.payment_terms_days else "-"
        lines.append(
            f"  {template.contract_type:<14}{template.name} (payment terms {terms}, "
            f"cadence {template.cadence or '-'})"
        )

    lines += ["", "Supplier scorecard weights" + ("" if document.scorecard else " (defaults)")]
    scorecard = document.scorecard or ScorecardPolicy()
    for name, label in SCORECARD_COMPONENTS.items():
        lines.append(f"  {name:<32}{scorecard.weights[name]:<6}{label}")
    lines.append("  Points reach 0 at")
    for name, label in ZERO_POINTS_AT_LABELS.items():
        lines.append(f"  {name:<32}{scorecard.zero_points_at[name]:<6}{label}")
    lines += ["", "Vendor onboarding checklist (required items)"]
    lines.append(f"  {', '.join(document.vendor_onboarding) or 'none'}")
    return "\n".join(lines)


def _critical_by_target(document: PolicyDocument) -> dict[str, dict[str, list[str]]]:
    grouped: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for entry in document.critical_fields:
        grouped[entry.target][entry.category].append(entry.attribute)
    return {target: dict(categories) for target, categories in grouped.items()}
