"""Rule packs: YAML rules -> checks -> findings.

Public API::

    pack = load_pack("zh-CN")            # or a path, or None + language="en"
    list_packs()                          # [{"id", "version", "language", "name", "path", "rules"}]
    findings = pack.run(transcript)       # scoring.score_transcript wraps this
"""

from .pack import NoPackForLanguage, Pack, default_pack_id, language_fits, list_packs, load_pack, packs_dir, parse_pack
from .registry import REGISTRY, Check, register
from .time_limit import RulesTimeLimit, rules_time_limit

__all__ = ["Check", "NoPackForLanguage", "Pack", "REGISTRY", "RulesTimeLimit", "default_pack_id", "language_fits",
           "list_packs", "load_pack", "packs_dir", "parse_pack", "register", "rules_time_limit"]
