"""Pydantic schemas at the API edge (Base / Create / Public, in the full-stack template's style)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CallStatus = Literal["queued", "processing", "done", "failed"]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str


class CallBase(BaseModel):
    call_id: str
    agent: str
    team: str | None = None
    started_at: datetime | None = None
    language: str | None = None
    pack: str | None = None


class CallCreated(BaseModel):
    """Answer to ``POST /calls``: 201 scored (transcript), 202 queued (audio), 200 an existing call (duplicate).

    ``duplicate`` is true when the same recording or transcript was already scored with the same pack version:
    ``id`` is then that call (200) or a new call that got a copy of its report (201).
    """

    id: str
    status: CallStatus
    duplicate: bool = False


class CallSummary(CallBase):
    """One row of ``GET /calls``."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    status: CallStatus
    source: Literal["audio", "transcript"] = "transcript"
    created_at: datetime
    score: float | None = None
    auto_score: float | None = Field(default=None, description="the engine's score before human review")
    grade: str | None = None
    category: str | None = None
    grade_id: str | None = Field(default=None, description="canonical grade (excellent, good, pass, fail): "
                                                             "'grade' is the pack's label of it")
    category_id: str | None = Field(default=None, description="canonical category (inquiry, complaint, "
                                                                   "suggestion, after_sales)")
    duration: float | None = None
    error: str | None = None


class CallPublic(CallSummary):
    """``GET /calls/{id}``: the summary plus, when done, the report document (and the audio's address)."""

    agent_channel: int | None = None
    audio_url: str | None = None
    audio_deleted_at: datetime | None = Field(default=None, description="when the retention policy deleted the "
                                              "recording (QA_ENGINE_AUDIO_RETENTION_DAYS); the report stays")
    report: dict[str, Any] | None = None
    evaluation: dict[str, Any] | None = Field(default=None, description="the newest released manual evaluation: "
                                              "id, score (final), manual_score, form, reviewer, released_at")


class CallList(BaseModel):
    items: list[CallSummary]
    total: int
    limit: int
    offset: int


#: Request body of ``POST /calls`` (JSON), for the OpenAPI document; validated by qa_engine.transcript.
TRANSCRIPT_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["language", "utterances"],
    "properties": {
        "call_id": {"type": "string"},
        "language": {"type": "string", "minLength": 1, "examples": ["zh", "en"]},
        "duration": {"type": "number"},
        "agent": {"type": "string", "description": "the agent's user name (default: the caller, for agents)"},
        "team": {"type": "string", "description": "default: the agent's team"},
        "started_at": {"type": "string", "format": "date-time"},
        "pack": {"type": "string", "description": "rule pack id (default: from the language)"},
        "utterances": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["role", "start", "end", "text"],
                "properties": {
                    "role": {"type": "string", "enum": ["agent", "customer", "unknown"]},
                    "start": {"type": "number"},
                    "end": {"type": "number"},
                    "text": {"type": "string"},
                },
            },
        },
    },
}


#: Request body of ``POST /calls`` as a form: the recording plus its metadata (queued for ASR, answers 202).
AUDIO_FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "the recording: WAV, FLAC, OGG/Opus, MP3 ... (stereo: one party per channel)"},
        "agent": {"type": "string", "description": "the agent's user name (default: the caller, for agents)"},
        "call_id": {"type": "string", "description": "your id for the call (default: the file name)"},
        "team": {"type": "string", "description": "default: the agent's team"},
        "started_at": {"type": "string", "format": "date-time"},
        "agent_channel": {"type": "integer", "minimum": 0,
                          "description": "the agent's channel, from 0 (default: detected from the wording)"},
        "language": {"type": "string", "examples": ["zh", "en", "auto"],
                     "description": "default: the pack's language"},
        "pack": {"type": "string", "description": "rule pack id (default: the team's pack, else by language)"},
    },
}
