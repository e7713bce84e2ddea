"""``qa-engine packs list|show ID|validate PATH...``: inspect and check rule packs."""

from __future__ import annotations

import argparse
import sys

from ..errors import PackError
from ..rules import list_packs, load_pack, packs_dir
from ..rules.docs import pack_markdown


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("packs", help="list, document and validate rule packs")
    sub = p.add_subparsers(dest="packs_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="list the installed packs")
    ls.set_defaults(func=run_list)
    show = sub.add_parser("show", help="print the generated documentation of a pack")
    show.add_argument("pack", help="pack id or path")
    show.set_defaults(func=run_show)
    val = sub.add_parser("validate", help="validate pack files (exit 1 on the first invalid one)")
    val.add_argument("paths", nargs="+", help="pack YAML files")
    val.set_defaults(func=run_validate)


def run_list(args: argparse.Namespace) -> int:
    packs = list_packs()
    if not packs:
        sys.stderr.write(f"no packs in {packs_dir()}\n")
        return 1
    for p in packs:
        sys.stdout.write(f"{p['id']:<10} v{p['version']:<8} {p['language']:<6} {p['rules']:>3} rules  "
                         f"{p['name']}\n")
    return 0


def run_show(args: argparse.Namespace) -> int:
    sys.stdout.write(pack_markdown(load_pack(args.pack)))
    return 0


def run_validate(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.paths:
        try:
            pack = load_pack(path if path.endswith((".yaml", ".yml")) or "/" in path else f"./{path}")
        except PackError as exc:
            sys.stderr.write(f"qa-engine: error: {exc}\n")
            failed += 1
            continue
        sys.stdout.write(f"{path}: ok ({pack.id} v{pack.version}, {len(pack.rules)} rules)\n")
    return 1 if failed else 0
