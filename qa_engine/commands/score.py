"""``qa-engine score AUDIO...``: transcribe and score recorded calls with one loaded model."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from ..audio import header_duration
from ..errors import QaEngineError
from ..pipeline import CallInput, Pipeline, pipeline_options
from ..progress import ProgressHook
from ..redact import redact_audio
from ..report import format_report, report_to_dict


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="transcribe and score call recordings",
                       description="Transcribe call recordings (stereo: one party per channel) and score them.")
    p.add_argument("audio", nargs="+", help="audio files (WAV, FLAC, OGG/Opus, MP3; any rate; mono or stereo)")
    p.add_argument("--agent-channel", type=int, default=None, metavar="N",
                   help="channel (0-based) that carries the agent; detected when omitted")
    p.add_argument("--agent-speaker", type=int, default=None, metavar="N",
                   help="mono calls: the diarized speaker (0-based, in order of first words) who is the agent; "
                        "detected when omitted")
    p.add_argument("--speakers", type=int, default=2, metavar="N",
                   help="mono calls: number of speakers (default 2; 0: estimate; 1: no diarization, roles unknown)")
    p.add_argument("--diarizer", default="builtin", choices=["builtin", "pyannote", "none"],
                   help="mono calls: speaker diarization backend (pyannote needs the [pyannote] extra)")
    p.add_argument("--diarizer-config", default=None, metavar="PATH",
                   help="pyannote pipeline config (config.yaml) with local checkpoints; never fetched from a hub")
    p.add_argument("--language", default=None, help="zh, en, or auto to detect (default: the pack's language, else zh)")
    p.add_argument("--pack", default=None, help="rule pack id or path (default: from the language)")
    p.add_argument("--model", default=None, help="CTranslate2 Whisper model path or name (default: bundled base)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--compute-type", default="auto", help="e.g. int8, float16, int8_float16 (default: auto)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for ASR (0: all cores)")
    p.add_argument("--beam-size", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=16, help="speech windows (up to 20 s) decoded per batch")
    p.add_argument("--max-duration", type=float, default=4 * 3600.0, metavar="SECONDS",
                   help="refuse recordings longer than this (default: 4 h)")
    p.add_argument("--no-mask", action="store_true", help="do not mask phone/ID/card numbers in the output")
    p.add_argument("--redact-audio", default=None, metavar="OUT",
                   help="also write the recording with every spoken phone/ID/card number silenced: OUT is a file "
                        "(.wav or .flac) for one input, or a folder for several (NAME.redacted.wav/.flac)")
    p.add_argument("--redact-mode", default="silence", choices=["silence", "tone"],
                   help="what replaces a redacted span (default: silence)")
    p.add_argument("--json", action="store_true", help="print the report document (JSON)")
    p.add_argument("-o", "--output", default=None, metavar="FILE", help="write the output to FILE")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar with ETA on stderr (default: on when stderr is a terminal)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.agent_channel is not None and args.agent_channel < 0:
        raise QaEngineError("--agent-channel must be 0 or more")
    if args.speakers < 0:
        raise QaEngineError("--speakers must be 0 (estimate), 1 (no diarization) or more")
    if args.agent_speaker is not None and args.agent_speaker < 0:
        raise QaEngineError("--agent-speaker must be 0 or more")
    if args.diarizer == "pyannote" and not args.diarizer_config:
        raise QaEngineError("--diarizer pyannote needs --diarizer-config PATH (a local pipeline config)")
    options = pipeline_options({
        "model": args.model, "device": args.device, "compute_type": args.compute_type, "cpu_threads": args.threads,
        "beam_size": args.beam_size, "batch_size": args.batch_size, "language": args.language, "pack": args.pack,
        "max_duration_s": args.max_duration, "mask_pii": not args.no_mask, "diarizer": args.diarizer,
        "diarizer_config": args.diarizer_config, "speakers": args.speakers,
    })
    pipeline = Pipeline(options)
    calls = [CallInput(source=a, agent_channel=args.agent_channel, language=args.language,
                       agent_speaker=args.agent_speaker) for a in args.audio]
    show_progress = sys.stderr.isatty() if args.progress is None else args.progress
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    failed = 0
    try:
        with _progress(args.audio, show_progress) as progress:
            for call in calls:
                if progress is not None:
                    progress.start_file(Path(str(call.source)).name, header_duration(str(call.source)))
                try:
                    result = pipeline.score(call, hook=progress)
                except QaEngineError as exc:
                    failed += 1
                    if progress is not None:
                        progress.finish_file(ok=False)
                    sys.stderr.write(f"qa-engine: error: {exc}\n")
                    continue
                if progress is not None:
                    progress.finish_file(ok=True)
                if args.redact_audio:
                    target = _redacted_target(args.redact_audio, Path(str(call.source)), len(calls))
                    try:
                        written = redact_audio(str(call.source), result.redactions, target, mode=args.redact_mode)
                    except (QaEngineError, OSError) as exc:
                        failed += 1
                        sys.stderr.write(f"qa-engine: error: {call.source}: redacted audio not written: {exc}\n")
                    else:
                        sys.stderr.write(f"qa-engine: {call.source}: {written.spans} span(s) redacted "
                                         f"({written.seconds:.1f} s) -> {written.path}\n")
                if args.json:
                    doc = report_to_dict(result)
                    indent = 2 if len(calls) == 1 else None
                    out.write(json.dumps(doc, ensure_ascii=False, indent=indent) + "\n")
                else:
                    out.write(format_report(result))
                out.flush()
                if not result.scorable:
                    failed += 1
                    sys.stderr.write(f"qa-engine: {call.source}: not scorable: {result.reason}\n")
    finally:
        if out is not sys.stdout:
            out.close()
    if failed and args.output:
        sys.stderr.write(f"qa-engine: {failed} of {len(calls)} file(s) failed or not scorable; see above\n")
    return 1 if failed else 0


def _redacted_target(out: str, source: Path, count: int) -> Path:
    """Where the redacted copy of ``source`` goes: ``out`` itself for one input (unless it is a folder), else a
    file in the folder ``out`` named after the source (WAV and FLAC keep their container, others become FLAC)."""
    target = Path(out)
    if count == 1 and not target.is_dir() and target.suffix.lower() in (".wav", ".flac"):
        return target
    if count == 1 and not target.is_dir() and target.suffix:
        raise QaEngineError(f"--redact-audio {out}: write .wav or .flac (or name a folder)")
    target.mkdir(parents=True, exist_ok=True)
    suffix = source.suffix.lower() if source.suffix.lower() in (".wav", ".flac") else ".flac"
    return target / f"{source.stem}.redacted{suffix}"


def _progress(paths: list[str], enabled: bool) -> AbstractContextManager[ProgressHook | None]:
    """A progress bar over ``paths`` (their header durations give the ETA), or nothing."""
    if not enabled:
        return nullcontext()
    durations = [header_duration(p) for p in paths]
    known = [d for d in durations if d]
    return ProgressHook(total_files=len(paths), total_audio_s=sum(known) if len(known) == len(paths) else None)


__all__ = ["register", "run"]
