"""Use cases for administering rule packs: validate and upload versions, choose a team's pack, queue a rescore.

Why here and not in the HTTP routers: the same rules (versions are immutable, only admins upload, a supervisor
rescores only their teams, every change leaves an audit entry) must hold for any caller, and they must not need a
web framework to be tested or reused. Failures are domain errors (:mod:`qa_engine.app.errors`) whose messages the
HTTP edge passes on unchanged. Reading the catalogue lives in :mod:`qa_engine.app.packs`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from qa_engine.app import jobs
from qa_engine.app.access import can_see_team, require_role, supervised_teams
from qa_engine.app.audit import record
from qa_engine.app.errors import Conflict, Forbidden, Invalid, NotFound
from qa_engine.app.first_use import insert_if_absent, locked_row
from qa_engine.app.models import Job, PackVersion, TeamPack, User, utcnow
from qa_engine.app.pack_cache import MAX_VERSION_LENGTH, PackCache, check_pack_id
from qa_engine.app.packs import UnknownPack, get_pack, team_pack, version_exists
from qa_engine.app.rescore import JOB_KIND, rescore_payload
from qa_engine.errors import PackError
from qa_engine.rules import Pack
from qa_engine.rules.pack import MAX_NUMBER_DIGITS, parse_pack_text, yaml_error_message
from qa_engine.transcript import text_problem

#: How an uploaded pack is named in validation messages (it has no file name).
UPLOAD_SOURCE = "body"


#: Limits on the shape of uploaded YAML, checked on the parser's events before anything builds the document: a
#: pack nests about 6 levels; an integer longer than MAX_NUMBER_DIGITS is no pack value.
MAX_YAML_DEPTH = 32
_INT_TAG = "tag:yaml.org,2002:int"


def check_yaml_shape(text: str, source: str = UPLOAD_SOURCE) -> None:
    """Refuse YAML that is too deep, uses aliases, or holds an integer too long to read, naming line and field.

    Runs on the (C, when available) parser's event stream, which does not recurse, so a document nested
    thousands deep or with a 5000-digit number answers 422 instead of exhausting the stack or the int parser.

    Raises:
        Invalid: the problem, with line, column and the mapping key it is under.
    """
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    resolver = yaml.resolver.Resolver()
    open_: list[list[Any]] = []  # per open collection: [is a mapping, next node is a key, the current key]

    def node_done() -> None:
        if open_ and open_[-1][0]:
            open_[-1][1] = not open_[-1][1]

    try:
        for event in yaml.parse(text, Loader=loader):
            mark = event.start_mark
            where = f"{source}: line {mark.line + 1} column {mark.column + 1}" if mark is not None else source
            is_key = bool(open_) and open_[-1][0] and open_[-1][1]
            if isinstance(event, yaml.AliasEvent):
                raise Invalid(f"{where}: YAML aliases (*{event.anchor}) are not allowed in an uploaded pack")
            if isinstance(event, yaml.ScalarEvent):
                path = ".".join(frame[2] for frame in open_ if frame[0] and frame[2])
                field = f" field '{path}':" if path else ""
                problem = text_problem(event.value)  # "\ud800" or "\0" escapes in a double-quoted string
                if problem is not None:
                    raise Invalid(f"{where}:{field} text {problem}")
                if is_key:
                    open_[-1][2] = event.value[:64]
                elif event.implicit[0] and not event.style and len(event.value) > MAX_NUMBER_DIGITS and \
                        resolver.resolve(yaml.ScalarNode, event.value, (True, False)) == _INT_TAG:
                    raise Invalid(f"{where}:{field} a number of {len(event.value)} characters is too long (at most "
                                  f"{MAX_NUMBER_DIGITS}; quote it if it is text)")
                node_done()
            elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                if len(open_) >= MAX_YAML_DEPTH:
                    raise Invalid(f"{where}: YAML nested deeper than {MAX_YAML_DEPTH} levels")
                if is_key:
                    open_[-1][2] = None
                open_.append([isinstance(event, yaml.MappingStartEvent), True, None])
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                open_.pop()
                node_done()
    except yaml.YAMLError as exc:
        raise Invalid(yaml_error_message(exc, text, source)) from None


def parse_upload(text: str) -> Pack:
    """Validate an uploaded pack's YAML text.

    Raises:
        Invalid: the validator's message (it names the rule id and field), YAML of a shape no pack has
            (:func:`check_yaml_shape`), or a version that is too long.
    """
    check_yaml_shape(text)
    try:
        pack = parse_pack_text(text, UPLOAD_SOURCE, allow_aliases=False)
        check_pack_id(pack.id, "pack")
    except PackError as exc:
        raise Invalid(str(exc)) from None
    if len(pack.version) > MAX_VERSION_LENGTH:
        raise Invalid(f"{UPLOAD_SOURCE}: field 'version': at most {MAX_VERSION_LENGTH} characters")
    return pack


def checked_id(pack_id: str) -> str:
    """``pack_id`` when it is a plain id; anything else names no pack (NotFound), whatever it looks like."""
    try:
        check_pack_id(pack_id)
    except PackError:
        raise NotFound(f"no pack {pack_id!r}") from None
    return pack_id


def load_pack(session: Session, pack_cache: PackCache, pack_id: str, version: str | None) -> Pack:
    """The pack for a read or a job.

    Raises:
        NotFound: no such pack or version.
        Invalid: a stored version no longer validates.
    """
    try:
        return get_pack(session, pack_cache, checked_id(pack_id), version)
    except UnknownPack as exc:
        raise NotFound(str(exc)) from None
    except PackError as exc:
        raise Invalid(str(exc)) from None


def upload_pack(session: Session, user: User, text: str) -> Pack:
    """Store a new pack version (admins only) with an audit entry; versions are immutable.

    Raises:
        Forbidden: not an admin.
        Invalid: the pack does not validate.
        Conflict: that pack id and version exist already (bundled or uploaded, or uploaded meanwhile).
    """
    require_role(user, "admin")
    pack = parse_upload(text)
    taken = Conflict(f"pack {pack.id!r} version {pack.version!r} already exists; upload it under a new version")
    if version_exists(session, pack.id, pack.version):
        raise taken
    session.add(PackVersion(pack_id=pack.id, version=pack.version, language=pack.language, source=text,
                            uploaded_by=user.name))
    record(session, user.name, "pack.upload", after={"pack_id": pack.id, "version": pack.version,
                                                     "language": pack.language, "rules": len(pack.rules)})
    try:
        session.commit()
    except IntegrityError:  # the unique (pack_id, version) caught a concurrent upload of the same version
        session.rollback()
        raise taken from None
    return pack


def read_team_pack(session: Session, user: User, team: str) -> TeamPack | None:
    """The team's pack choice (None: the language default); NotFound for a team the user may not see."""
    if not can_see_team(session, user, team):
        raise NotFound(f"team {team!r} not found")
    return team_pack(session, team)


def _choice(choice: TeamPack | None) -> dict[str, str | None]:
    return {"pack_id": choice.pack_id if choice else None, "version": choice.version if choice else None}


def set_team_pack(session: Session, pack_cache: PackCache, user: User, team: str, pack_id: str,
                  version: str | None) -> TeamPack:
    """Choose the pack new calls of ``team`` are scored with (admins only); ``version`` None follows the newest.
    Two admins choosing at once both succeed, one after the other (the audit's ``before`` is the other's choice).

    Raises:
        Forbidden: not an admin.
        Invalid: no such pack or version, or it does not load (the message lists the known ones).
        Conflict: another admin cleared the team's choice at the same instant.
    """
    require_role(user, "admin")
    try:
        get_pack(session, pack_cache, pack_id, version)
    except PackError as exc:
        raise Invalid(str(exc)) from None
    created = insert_if_absent(session, TeamPack, team=team, pack_id=pack_id, version=version, set_by=user.name,
                               set_at=utcnow())
    choice = locked_row(session, TeamPack, team)  # another admin's choice, when one was stored meanwhile
    if choice is None:
        raise Conflict(f"the pack of team {team!r} was cleared by someone else just now; set it again")
    before = _choice(None if created else choice)
    if not created:
        choice.pack_id, choice.version, choice.set_by, choice.set_at = pack_id, version, user.name, utcnow()
    record(session, user.name, "team_pack.set", before=before, after={"pack_id": pack_id, "version": version},
           detail=f"team {team}")
    session.commit()
    return choice


def clear_team_pack(session: Session, user: User, team: str) -> None:
    """Go back to the language default pack for ``team`` (admins only); NotFound when none is set."""
    require_role(user, "admin")
    choice = session.get(TeamPack, team)
    if choice is None:
        raise NotFound(f"team {team!r} has no pack set")
    record(session, user.name, "team_pack.clear", before=_choice(choice), detail=f"team {team}")
    session.delete(choice)
    session.commit()


def rescore_teams(session: Session, user: User, team: str | None) -> list[str] | None:
    """The teams a rescore may touch (None: all): any for an admin, only their own for a supervisor.

    Raises:
        Forbidden: an agent, a team the supervisor does not supervise, or a supervisor with no team.
    """
    if user.role == "admin":
        return [team] if team else None
    require_role(user, "admin", "supervisor")
    own = supervised_teams(session, user)
    if team is not None:
        if team not in own:
            raise Forbidden(f"field 'team': you supervise {', '.join(own) or 'no team'}, not {team!r}")
        return [team]
    if not own:
        raise Forbidden("you supervise no team")
    return own


def queue_rescore(session: Session, pack_cache: PackCache, user: User, pack_id: str, *, version: str | None,
                  team: str | None, start: datetime | None, end: datetime | None) -> Job:
    """Queue a job that scores stored transcripts again with this pack (no ASR); the caller wakes the workers.

    The scope is checked before the pack is loaded, so a forbidden request learns nothing about packs.
    """
    teams = rescore_teams(session, user, team)
    pack = load_pack(session, pack_cache, pack_id, version)
    job = jobs.enqueue(session, JOB_KIND, created_by=user.name,
                       payload=rescore_payload(pack_id, pack.version, teams, start, end))
    record(session, user.name, "pack.rescore", after=job.payload)
    session.commit()
    return job


def visible_job(session: Session, user: User, job_id: int) -> Job:
    """A background job its creator (or an admin) may read; NotFound otherwise, so ids cannot be probed."""
    query = select(Job).where(Job.id == job_id)
    if user.role != "admin":
        query = query.where(Job.created_by == user.name)
    job = session.scalar(query)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job


__all__ = ["UPLOAD_SOURCE", "checked_id", "clear_team_pack", "load_pack", "parse_upload", "queue_rescore",
           "read_team_pack", "rescore_teams", "set_team_pack", "upload_pack", "visible_job"]
