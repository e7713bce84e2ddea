"""One settings class for the service: environment variables (``QA_ENGINE_*``), a ``.env`` file, or arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The shipped secret: fine on a laptop, refused in ``prod`` mode.
DEFAULT_SECRET_KEY = "change-me-dev-only"
DEFAULT_DATA_DIR = Path("qa-engine-data")
DB_FILE_NAME = "qa-engine.db"
#: CTranslate2's compute types ("auto": float16 on CUDA, int8 on CPU; int8_float16: int8 weights, float16 maths).
COMPUTE_TYPES = ("auto", "default", "float16", "int8_float16", "bfloat16", "int8_bfloat16", "int8", "int8_float32",
                 "int16", "float32")


class Settings(BaseSettings):
    """Service configuration.

    Attributes:
        mode: ``dev`` (default) or ``prod``. In ``prod`` unsafe defaults are refused.
        data_dir: where the embedded SQLite database (and, later, audio files) live; created on start.
        db_url: SQLAlchemy URL; default ``sqlite:///DATA_DIR/qa-engine.db`` (WAL journal). A plain
            ``postgresql://user:pw@host/db`` URL is used with psycopg 3 (``postgresql+psycopg://``).
        secret_key: server secret; must be changed outside ``dev``.
        workers: background workers started by ``serve`` (0: none; run ``qa-engine worker`` instead).
        max_queue: queued jobs accepted before uploads answer 503 with Retry-After.
        max_upload_mb: largest accepted upload.
        max_audio_duration_s: longest accepted recording.
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
        webhook_timeout_s, webhook_max_attempts, webhook_backoff_s: webhook delivery (backoff doubles).
        log_format: ``json`` (one object per line) or ``text``.
    """

    model_config = SettingsConfigDict(env_prefix="QA_ENGINE_", env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore")

    mode: Literal["dev", "prod"] = "dev"
    data_dir: Path = DEFAULT_DATA_DIR
    db_url: str | None = None
    secret_key: str = DEFAULT_SECRET_KEY
    # processing
    workers: int = Field(default=1, ge=0, le=64)
    max_queue: int = Field(default=200, ge=1)
    max_upload_mb: float = Field(default=200.0, gt=0)
    max_audio_duration_s: float = Field(default=4 * 3600.0, gt=0)
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
    # webhooks
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    webhook_max_attempts: int = Field(default=6, ge=1)
    webhook_backoff_s: float = Field(default=2.0, gt=0)
    # logs
    log_format: Literal["json", "text"] = "json"

    @field_validator("db_url")
    @classmethod
    def _complete_db_url(cls, value: str | None) -> str | None:
        """Accept ``postgresql://`` URLs as users write them (the psycopg 3 driver is filled in)."""
        if not value:
            return None
        from qa_engine.app.database import normalize_url

        return normalize_url(value)

    @field_validator("compute_type")
    @classmethod
    def _known_compute_type(cls, value: str | None) -> str | None:
        """Refuse a misspelt compute type at start, not on the first call (CTranslate2's names)."""
        if value in (None, ""):
            return None
        if value not in COMPUTE_TYPES:
            raise ValueError(f"unknown compute_type {value!r}: use one of {', '.join(COMPUTE_TYPES)}")
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.mode != "dev":
            if self.secret_key == DEFAULT_SECRET_KEY:
                raise ValueError(f"mode={self.mode}: the default secret key is refused; "
                                 "set QA_ENGINE_SECRET_KEY to a long random value "
                                 "(python -c 'import secrets; print(secrets.token_urlsafe(32))')")
            if len(self.secret_key) < 32:
                raise ValueError(f"mode={self.mode}: QA_ENGINE_SECRET_KEY is too short "
                                 f"({len(self.secret_key)} characters; use at least 32)")
        return self

    def pipeline_settings(self) -> dict[str, Any]:
        """The speech settings as the one mapping :func:`qa_engine.pipeline.pipeline_options` takes (the CLI and the
        batch build theirs from their flags). Service reports are always PII-masked."""
        return {"model": self.model, "device": self.device, "compute_type": self.compute_type or "auto",
                "cpu_threads": self.cpu_threads, "beam_size": self.beam_size, "batch_size": self.batch_size,
                "max_duration_s": self.max_audio_duration_s, "mask_pii": True, "diarizer": self.diarizer,
                "diarizer_config": self.diarizer_config, "speakers": self.speakers}

    @property
    def database_url(self) -> str:
        """The configured URL, or the embedded SQLite file under :attr:`data_dir`."""
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_dir / DB_FILE_NAME).resolve()}"


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
