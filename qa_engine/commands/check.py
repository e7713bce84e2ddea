"""``qa-engine check TRANSCRIPT.json``: score a transcript (no audio) against a rule pack."""

from __future__ import annotations

import argparse
import json
import sys

from ..pipeline import check_with_pack
from ..report import format_report, report_to_dict
from ..transcript import load_transcript


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("check", help="score a transcript JSON file against a rule pack",
                              description="Score a transcript (language + utterances[].role/start/end/text).")
    p.add_argument("transcript", help="transcript JSON file")
    p.add_argument("--pack", default=None,
                   help="pack id (zh-CN, en) or path; default: the pack written for the language (none: not scored)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--no-mask", action="store_true", help="do not mask phone/ID/card numbers in the output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    transcript = load_transcript(args.transcript)
    report = check_with_pack(transcript, args.pack, mask_pii=not args.no_mask)
    if args.json:
        sys.stdout.write(json.dumps(report_to_dict(report), ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(format_report(report))
    if not report.scorable:
        sys.stderr.write(f"qa-engine: {args.transcript}: not scorable: {report.reason}\n")
        return 1
    return 0
