"""Search across calls: utterances whose masked text holds the query, scoped exactly like the calls list.

Words of space-separated languages match where a word starts (``hi`` finds ``Hi, thanks`` and ``"hi"``, not
``while``; the query's last word may end inside a word: ``refund`` finds ``refunds``); Chinese matches anywhere,
it has no spaces between words. Case is ignored, and runs of white space count as one space. Both the stored text
and the query are put in :func:`~qa_engine.app.search_text.match_form` (lower-cased, a mark before each word), so
this is one substring test on SQLite and PostgreSQL alike. SQLite answers forms of three characters or more from
the FTS5 ``trigram`` index (``\x1fhi`` is three); PostgreSQL from the ``pg_trgm`` GIN index. Shorter forms
(``稍等``) have no trigram to look up and are a ``LIKE`` scan, which stays fast at 100,000 utterances
(``benchmarks/bench_search.py``). User input never reaches SQL as syntax: it is a bound FTS5 phrase (quotes
doubled) or an escaped ``LIKE`` pattern.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVarTuple

from sqlalchemy import Select, column, func, literal_column, select, table
from sqlalchemy.orm import Session

from qa_engine.app.access import as_utc, visible_to
from qa_engine.app.call_query import WHEN, CallFilters
from qa_engine.app.errors import Invalid
from qa_engine.app.local_time import service_zone
from qa_engine.app.models import Call, SearchUtterance, User
from qa_engine.app.search_text import match_form

MAX_QUERY_CHARS = 200
SEARCH_ROLES = ("agent", "customer")
#: FTS5 trigram matches only queries of at least this many characters
TRIGRAM = 3
LIKE_ESCAPE = "\\"
_SPACE = re.compile(r"\s+")
_Row = TypeVarTuple("_Row")
_FTS = table("search_utterances_fts", column("rowid"))


@dataclass(frozen=True)
class SearchQuery:
    """``GET /search``'s parameters; ``date_from``/``date_to`` as in the calls list."""

    text: str
    role: str | None = None
    agent: str | None = None
    team: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True)
class SearchHit:
    """One utterance that holds the query: where it is (call, seconds) and its masked text."""

    id: str
    call_id: str
    agent: str
    team: str | None
    started_at: datetime | None
    start: float
    end: float
    role: str
    text: str


@dataclass(frozen=True)
class SearchPage:
    items: list[SearchHit]
    total: int


def normalized_query(raw: str) -> str:
    """The query as matched: runs of white space made one space, trimmed; 422 naming ``q`` when unusable."""
    needle = _SPACE.sub(" ", raw).strip()
    if not needle:
        raise Invalid("query parameter 'q' must contain something to search for")
    if len(needle) > MAX_QUERY_CHARS:
        raise Invalid(f"query parameter 'q' is {len(needle)} characters long; at most {MAX_QUERY_CHARS}")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in needle):
        raise Invalid("query parameter 'q' must not contain control characters")
    return needle


def search_calls(session: Session, user: User, query: SearchQuery) -> SearchPage:
    """The utterances ``user`` may see that hold ``query.text``: newest call first, in call order within one."""
    needle = match_form(normalized_query(query.text))
    if query.role is not None and query.role not in SEARCH_ROLES:
        raise Invalid(f"query parameter 'role' must be one of {', '.join(SEARCH_ROLES)}, got {query.role!r}")
    filters = CallFilters(agent=query.agent, team=query.team, date_from=query.date_from, date_to=query.date_to)
    where = [visible_to(user), *filters.conditions(service_zone(session))]
    if query.role is not None:
        where.append(SearchUtterance.role == query.role)
    columns = select(Call.id, Call.call_id, Call.agent, Call.team, Call.started_at, SearchUtterance.start,
                     SearchUtterance.end, SearchUtterance.role, SearchUtterance.text,  # not the call's report
                     func.count().over().label("total"))  # one pass over the matches: a short query scans
    rows = session.execute(_matching(session, needle, columns).where(*where)
                           .order_by(WHEN.desc(), Call.id.desc(), SearchUtterance.start, SearchUtterance.id)
                           .limit(query.limit).offset(query.offset)).all()
    total = int(rows[0].total) if rows else 0
    if not rows and query.offset:  # past the last page: count on its own
        total = session.scalar(_matching(session, needle, select(func.count())).where(*where)) or 0
    items = [SearchHit(id=r.id, call_id=r.call_id, agent=r.agent, team=r.team, started_at=as_utc(r.started_at),
                       start=r.start, end=r.end, role=r.role, text=r.text) for r in rows]
    return SearchPage(items=items, total=total)


def _matching(session: Session, needle: str, query: Select[*_Row]) -> Select[*_Row]:
    """``query`` over the utterances whose ``match_text`` contains ``needle`` (a match form), joined to their calls.

    SQLite, three characters or more: the FTS5 index drives the join (one primary-key lookup per match); a plain
    ``IN (subquery)`` let the planner start from an agent's calls and probe the whole match list for each.
    Otherwise a ``LIKE`` (both sides are lower-cased already); PostgreSQL's planner uses the trigram GIN index for
    it when the pattern has trigrams.
    """
    if session.get_bind().dialect.name == "sqlite" and len(needle) >= TRIGRAM:
        phrase = '"' + needle.replace('"', '""') + '"'  # one FTS5 phrase: no operator of the query language
        return (query.select_from(_FTS).join(SearchUtterance, SearchUtterance.id == _FTS.c.rowid)
                .join(Call, Call.id == SearchUtterance.call_pk)
                .where(literal_column("search_utterances_fts").match(phrase)))
    holds = SearchUtterance.match_text.like(f"%{like_escaped(needle)}%", escape=LIKE_ESCAPE)
    return query.select_from(SearchUtterance).join(Call, Call.id == SearchUtterance.call_pk).where(holds)


def like_escaped(text: str) -> str:
    """``text`` with LIKE's wildcards (``%``, ``_``) and the escape character taken literally."""
    return text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
