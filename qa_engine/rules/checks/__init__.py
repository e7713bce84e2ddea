"""Built-in check types; importing this package registers them all."""

from . import (
    classify,
    condition,
    confirm,
    forbidden,
    hold,
    metrics,
    negative_end,
    overtalk,
    phrase_window,
    raised_voice,
    repeat,
    response_after,
)

__all__ = ["classify", "condition", "confirm", "forbidden", "hold", "metrics", "negative_end", "overtalk",
           "phrase_window", "raised_voice", "repeat", "response_after"]
