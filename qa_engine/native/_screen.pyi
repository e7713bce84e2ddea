"""The matcher screen's codes space in C (see _screen.c): its literals by Aho-Corasick, the other patterns by a
gated RE2 set; equal to the RE2 set of the whole space (matching.MatcherScreen.match_codes)."""

from collections.abc import Callable

class Screen:
    def __init__(self, literals: list[tuple[str, int, int]], n_items: int,
                 regex_match: Callable[[bytes], list[int]] | None, regex_items: list[int], regex_groups: list[int],
                 chains: list[tuple[int, int, int, int]], segment_gaps: list[tuple[int, int]], /) -> None: ...
    def __call__(self, text: str, /) -> list[int]: ...
