"""Rule packs: YAML rules -> checks -> findings.

Public API::

    pack = load_pack("zh-CN")            # or a path, or None + language="en"
    list_packs()                          # [{"id", "version", "language", "name", "path", "rules"}]
    findings = pack.run(transcript)       # scoring.score_transcript wraps this
"""

from .pack import Pack, default_pack_id, list_packs, load_pack, packs_dir, parse_pack
from .registry import REGISTRY, Check, register

__all__ = ["Check", "Pack", "REGISTRY", "default_pack_id", "list_packs", "load_pack", "packs_dir",
           "parse_pack", "register"]
