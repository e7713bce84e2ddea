"""Nightly batch: score a recording archive into the service database, resumable, on one box or on Ray."""

from __future__ import annotations

from .runner import BatchOptions, run_batch
from .source import BatchItem, ManifestError, load_source, read_manifest, scan_folder

__all__ = ["BatchItem", "BatchOptions", "ManifestError", "load_source", "read_manifest", "run_batch", "scan_folder"]
