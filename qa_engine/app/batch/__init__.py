"""Nightly batch: score a recording archive into the service database, resumable, on one box or on Ray."""

from __future__ import annotations

from qa_engine.app.batch.runner import BatchOptions, run_batch
from qa_engine.app.batch.source import BatchItem, ManifestError, load_source, read_manifest, scan_folder

__all__ = ["BatchItem", "BatchOptions", "ManifestError", "load_source", "read_manifest", "run_batch", "scan_folder"]
