"""One settings class for the service: environment variables (``QA_ENGINE_*``), a ``.env`` file, or arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The shipped secret: fine on a laptop, refused in ``prod`` mode.
DEFAULT_SECRET_KEY = "change-me-dev-only"
DEFAULT_DATA_DIR = Path("qa-engine-data")
DB_FILE_NAME = "qa-engine.db"


class Settings(BaseSettings):
    """Service configuration.

    Attributes:
        mode: ``dev`` (default) or ``prod``. In ``prod`` unsafe defaults are refused.
        data_dir: where the embedded SQLite database (and, later, audio files) live; created on start.
        db_url: SQLAlchemy URL; default ``sqlite:///DATA_DIR/qa-engine.db`` (WAL journal).
        secret_key: server secret (webhook signatures, later); must be changed outside ``dev``.
    """

    model_config = SettingsConfigDict(env_prefix="QA_ENGINE_", env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore")

    mode: Literal["dev", "prod"] = "dev"
    data_dir: Path = DEFAULT_DATA_DIR
    db_url: str | None = None
    secret_key: str = DEFAULT_SECRET_KEY

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
