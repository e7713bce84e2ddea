"""Built-in check types; importing this package registers them all."""

from . import classify, confirm, forbidden, hold, metrics, phrase_window, response_after

__all__ = ["classify", "confirm", "forbidden", "hold", "metrics", "phrase_window", "response_after"]
