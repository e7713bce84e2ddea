"""One settings class for the service: environment variables (``QA_ENGINE_*``), a ``.env`` file, or arguments."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from qa_engine.app.local_time import DEFAULT_TIMEZONE, parse_zone

#: The shortest server secret accepted (bytes of UTF-8); there is no default: see :mod:`qa_engine.app.secret_key`.
MIN_SECRET_KEY_BYTES = 32
DEFAULT_DATA_DIR = Path("qa-engine-data")
DB_FILE_NAME = "qa-engine.db"
#: CTranslate2's compute types ("auto": float16 on CUDA, int8 on CPU; int8_float16: int8 weights, float16 maths).
#: The longest retention period accepted (100 years): past it "keep forever" (0) says what is meant.
MAX_RETENTION_DAYS = 36500
COMPUTE_TYPES = ("auto", "default", "float16", "int8_float16", "bfloat16", "int8_bfloat16", "int8", "int8_float32",
                 "int16", "float32")


class Settings(BaseSettings):
    """Service configuration.

    Attributes:
        mode: ``dev`` (default) or ``prod``. In ``prod`` unsafe defaults are refused.
        data_dir: where the embedded SQLite database (and, later, audio files) live; created on start.
        db_url: SQLAlchemy URL; default ``sqlite:///DATA_DIR/qa-engine.db`` (WAL journal). A plain
            ``postgresql://user:pw@host/db`` URL is used with psycopg 3 (``postgresql+psycopg://``).
        secret_key: server secret (at least 32 bytes). Unset (default): a random key is created on first start in
            ``DATA_DIR/secret_key`` (mode 0600) and reused; see :func:`qa_engine.app.secret_key.load_secret_key`.
        session_idle_timeout_s, session_max_age_s: a web sign-in ends after this long without a request (default
            30 min) and this long after signing in (default 12 h), whichever comes first.
        trusted_proxies: comma-separated IP addresses and networks of reverse proxies whose ``X-Forwarded-For`` and
            ``X-Forwarded-Proto`` are believed (client address for rate limits, HTTPS for ``Secure`` cookies and
            HSTS). Empty (default): none; the headers are ignored.
        force_secure_cookies: mark cookies ``Secure`` on every response (default: only on HTTPS requests, direct
            or through a trusted proxy).
        sign_in_max_failures, sign_in_max_failures_per_ip, sign_in_window_s: failed sign-ins allowed per account
            and per client address within the sliding window before sign-in answers 429 (default 5 and 20 in 15 min).
        workers: background workers started by ``serve`` (0: none; run ``qa-engine worker`` instead).
        max_queue: queued jobs accepted before uploads answer 503 with Retry-After.
        max_upload_mb: largest accepted upload.
        max_audio_duration_s: longest accepted recording (from the header at upload, then counted while decoding).
        max_decoded_mb: memory budget for one recording's decoded samples (float32, 16 kHz, every channel:
            ``duration x channels x 64 kB/s``), checked at upload from the header and by the worker before and while
            decoding. Bounds a job's memory whatever the file claims; at the default 256 MB a mono call may last
            69 min and a stereo one 35 min (``max_audio_duration_s`` still applies on top).
        max_transcript_body_mb, max_pack_body_mb, max_body_mb: request body limits (transcript JSON uploads, rule
            pack uploads and validations, every other body; audio uploads use ``max_upload_mb``), enforced before
            the body is read (``Content-Length``) and while it streams in (413).
        rules_time_limit_s: wall-clock limit for running a pack's rules on one call; past it scoring stops and
            the call fails with a reason naming the limit.
        model, device, compute_type, cpu_threads: the speech model the workers load (defaults: bundled, auto:
            CUDA with float16 when a GPU is visible, else CPU with int8; ``int8_float16`` halves GPU memory).
        batch_size: speech windows (up to 20 s each) Whisper decodes per batch.
        beam_size: Whisper beam size (1: greedy).
        diarizer, diarizer_config, speakers: mono recordings: the diarization backend (``builtin``, ``pyannote``
            with a local config file, or ``none``) and the number of speakers (0: estimate; 1: no diarization).
        asr_batching: ``auto`` (default): when the model is on a GPU and the process scores several calls at once,
            their speech is decoded in shared batches (one model, one :class:`AsrBatcher`); ``on`` also on CPU;
            ``off`` never (each call decodes its own windows).
        asr_batch_wait_ms: how long a call's speech may wait for other calls' to fill a batch.
        worker_concurrency: calls one ``qa-engine worker`` process scores at once (threads sharing its model).
        keep_raw_transcripts: also store unmasked transcripts (off: only PII-masked text is stored).
        keep_original_audio: keep the unredacted recording next to the redacted one (off, default: it is deleted
            once the call is scored); when kept, only admins fetch it (``GET /calls/{id}/audio/original``, audited).
        redact_audio_mode, redact_margin_s: how spoken identifiers are redacted in stored audio (``silence`` or a
            quiet ``tone``) and the margin added on each side of the masked words (default 0.15 s).
        webhook_timeout_s, webhook_max_attempts, webhook_backoff_s: webhook delivery (backoff doubles).
        webhook_allow_hosts: comma-separated host names and IP networks (``hooks.corp.local, 10.20.0.0/16``) that
            webhooks may reach although they are internal (loopback, private, link-local...): on-prem receivers.
            Empty (default): only public addresses are reached.
        agent_uploads: whether agents may upload their own calls (default: no; supervisors and admins upload).
        review_low_score: a call scored below this enters the supervisors' review queue with the reason
            ``low_score`` (default 60; 0: never), see :mod:`qa_engine.app.review_queue`.
        audiohook_idle_timeout_s: an open AudioHook session (active or paused) in which nothing arrives for this long
            (no audio frame, no ``ping``, no message; default 60 s) is ended: ``disconnect`` (reason ``error``, info
            naming the limit), then the socket is closed; what was received is stored and scored as at any call end.
            AudioHook clients stream audio continuously and ``ping`` while paused, so only a stuck client hits it.
        log_format: ``json`` (one object per line) or ``text``.
        retention_days: whole calls (report, findings, reviews, comments, recording: what ``DELETE /calls/{id}``
            removes) stored more than this many days ago are purged (``qa-engine purge``, and by the workers once an
            hour). Unset or 0 (default): kept forever. See :mod:`qa_engine.app.retention`.
        audio_retention_days: recordings only: stored more than this many days ago they are deleted, the call, its
            report and its score stay (``audio_deleted_at``). At most ``retention_days``. Unset or 0: kept.
        timezone: the call centre's IANA time zone (``Asia/Shanghai``; default ``UTC``): the days and weeks that
            scorecards, the weekly analysis, date filters, sampling quotas and the dashboard count calls in
            (:mod:`qa_engine.app.local_time`). Times are stored and returned in UTC whatever it is.
    """

    model_config = SettingsConfigDict(env_prefix="QA_ENGINE_", env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore")

    mode: Literal["dev", "prod"] = "dev"
    data_dir: Path = DEFAULT_DATA_DIR
    db_url: str | None = None
    secret_key: SecretStr | None = None
    # web sign-in
    session_idle_timeout_s: float = Field(default=30 * 60.0, gt=0)
    session_max_age_s: float = Field(default=12 * 3600.0, gt=0)
    trusted_proxies: str = ""
    force_secure_cookies: bool = False
    sign_in_max_failures: int = Field(default=5, ge=1)
    sign_in_max_failures_per_ip: int = Field(default=20, ge=1)
    sign_in_window_s: float = Field(default=15 * 60.0, gt=0)
    # processing
    workers: int = Field(default=1, ge=0, le=64)
    max_queue: int = Field(default=200, ge=1)
    max_upload_mb: float = Field(default=200.0, gt=0)
    max_audio_duration_s: float = Field(default=4 * 3600.0, gt=0)
    max_decoded_mb: float = Field(default=256.0, gt=0)
    max_transcript_body_mb: float = Field(default=10.0, gt=0)
    max_pack_body_mb: float = Field(default=1.0, gt=0)
    max_body_mb: float = Field(default=1.0, gt=0)
    rules_time_limit_s: float = Field(default=10.0, gt=0)
    model: str | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str | None = None
    cpu_threads: int = Field(default=0, ge=0)
    batch_size: int = Field(default=16, ge=1, le=512)
    beam_size: int = Field(default=1, ge=1, le=10)
    diarizer: Literal["builtin", "pyannote", "none"] = "builtin"
    diarizer_config: str | None = None
    speakers: int = Field(default=2, ge=0, le=10)
    asr_batching: Literal["auto", "on", "off"] = "auto"
    asr_batch_wait_ms: float = Field(default=50.0, ge=0, le=5000)
    worker_concurrency: int = Field(default=1, ge=1, le=64)
    # privacy
    keep_raw_transcripts: bool = False
    keep_original_audio: bool = False
    redact_audio_mode: Literal["silence", "tone"] = "silence"
    redact_margin_s: float = Field(default=0.15, ge=0, le=2.0)
    # webhooks
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    webhook_max_attempts: int = Field(default=6, ge=1)
    webhook_backoff_s: float = Field(default=2.0, gt=0)
    webhook_allow_hosts: str = ""
    # who may upload
    agent_uploads: bool = False
    # review queue
    review_low_score: float = Field(default=60.0, ge=0, le=100)
    # retention (None: keep forever)
    retention_days: int | None = None
    audio_retention_days: int | None = None
    # live tap (AudioHook)
    audiohook_idle_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    # logs
    log_format: Literal["json", "text"] = "json"
    # the call centre's calendar
    timezone: str = DEFAULT_TIMEZONE

    @field_validator("db_url")
    @classmethod
    def _complete_db_url(cls, value: str | None) -> str | None:
        """Accept ``postgresql://`` URLs as users write them (the psycopg 3 driver is filled in)."""
        if not value:
            return None
        from qa_engine.app.database import normalize_url

        return normalize_url(value)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        """A misspelt zone is an error at start: otherwise every day would silently be cut at the wrong hour."""
        try:
            return parse_zone(value).key
        except ValueError as exc:
            raise ValueError(f"timezone: {exc}") from None

    @field_validator("retention_days", "audio_retention_days", mode="before")
    @classmethod
    def _whole_days(cls, value: object, info: ValidationInfo) -> int | None:
        """A number of days, or None for "keep forever" (unset, empty or 0); anything else stops the start: a
        misread retention period deletes data, or keeps it past what the law allows."""
        if value is None or value == "":
            return None
        days = _as_whole_number(value)
        if days is None or not 0 <= days <= MAX_RETENTION_DAYS:
            raise ValueError(f"QA_ENGINE_{str(info.field_name).upper()} must be a whole number of days up to "
                             f"{MAX_RETENTION_DAYS} (0 or unset: keep forever), got {value!r}")
        return days or None

    @model_validator(mode="after")
    def _audio_kept_no_longer_than_calls(self) -> Settings:
        """Purging a whole call removes its recording too: a longer audio period would never apply."""
        if self.retention_days and self.audio_retention_days and self.audio_retention_days > self.retention_days:
            raise ValueError(f"QA_ENGINE_AUDIO_RETENTION_DAYS ({self.audio_retention_days}) must not be more than "
                             f"QA_ENGINE_RETENTION_DAYS ({self.retention_days}): a call's recording goes with it")
        return self

    @field_validator("compute_type")
    @classmethod
    def _known_compute_type(cls, value: str | None) -> str | None:
        """Refuse a misspelt compute type at start, not on the first call (CTranslate2's names)."""
        if value in (None, ""):
            return None
        if value not in COMPUTE_TYPES:
            raise ValueError(f"unknown compute_type {value!r}: use one of {', '.join(COMPUTE_TYPES)}")
        return value

    @field_validator("secret_key", mode="before")
    @classmethod
    def _long_secret_key(cls, value: object) -> object:
        """Refuse a short secret in every mode (an empty value means unset: the key file is used)."""
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value is None or value == "":
            return None
        if isinstance(value, str) and len(value.encode("utf-8")) < MIN_SECRET_KEY_BYTES:
            raise ValueError(f"QA_ENGINE_SECRET_KEY is too short ({len(value.encode('utf-8'))} bytes; use at least "
                             f"{MIN_SECRET_KEY_BYTES}, e.g. python -c 'import secrets; "
                             "print(secrets.token_urlsafe(48))', or leave it unset to use a key generated in the "
                             "data dir)")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _known_proxies(cls, value: str) -> str:
        """Refuse a proxy entry that is not an IP address or network (``10.0.0.5``, ``10.0.0.0/8``, ``::1``)."""
        import ipaddress

        for entry in (e.strip() for e in value.split(",")):
            if entry:
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(f"trusted_proxies: {entry!r} is not an IP address or network "
                                     "(e.g. 10.0.0.5, 10.0.0.0/8 or ::1)") from None
        return value

    @field_validator("webhook_allow_hosts")
    @classmethod
    def _known_networks(cls, value: str) -> str:
        """A misspelt network in the webhook allow-list is an error at start, not a refused delivery later."""
        from qa_engine.app.webhook_targets import AllowList

        AllowList.parse(value)
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[Any, ...]:
        """:attr:`trusted_proxies` as ``ipaddress`` networks."""
        import ipaddress

        return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in self.trusted_proxies.split(",")
                     if e.strip())

    def pipeline_settings(self) -> dict[str, Any]:
        """The speech settings as the one mapping :func:`qa_engine.pipeline.pipeline_options` takes (the CLI and the
        batch build theirs from their flags). Service reports are always PII-masked."""
        return {"model": self.model, "device": self.device, "compute_type": self.compute_type or "auto",
                "cpu_threads": self.cpu_threads, "beam_size": self.beam_size, "batch_size": self.batch_size,
                "max_duration_s": self.max_audio_duration_s, "mask_pii": True, "diarizer": self.diarizer,
                "diarizer_config": self.diarizer_config, "speakers": self.speakers}

    @property
    def zone(self) -> ZoneInfo:
        """:attr:`timezone` as a zone."""
        return parse_zone(self.timezone)

    @property
    def database_url(self) -> str:
        """The configured URL, or the embedded SQLite file under :attr:`data_dir`."""
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_dir / DB_FILE_NAME).resolve()}"


def _as_whole_number(value: object) -> int | None:
    """``value`` as an int when it is one (``"30"``, ``30``), else None (``"1.5"``, ``True``, ``"thirty"``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]+\s*", value):
        return int(value)
    return None


def load_settings(data_dir: str | Path | None = None, db_url: str | None = None) -> Settings:
    """Settings from the environment, with command-line values (when given) taking precedence.

    Raises:
        QaEngineError: the configuration is invalid (the message says which setting and how to fix it).
    """
    from pydantic import ValidationError

    from qa_engine.errors import QaEngineError

    overrides: dict[str, object] = {}
    if data_dir is not None:
        overrides["data_dir"] = Path(data_dir)
    if db_url is not None:
        overrides["db_url"] = db_url
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise QaEngineError(f"invalid settings: {reasons}") from None


@cache
def environment_settings() -> Settings | None:
    """The settings from the environment, read once; None when they are invalid.

    For a use case run outside the service (CLI, batch, scripts, tests) that reads a setting the service would have
    put in ``session.info``: it falls back to the setting's default rather than failing over an unrelated one.
    """
    from qa_engine.errors import QaEngineError

    try:
        return load_settings()
    except QaEngineError:
        return None
