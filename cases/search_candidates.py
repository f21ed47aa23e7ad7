"""The lines a search ranks: the newest matching lines in the user's scope and filters, at most RANKED_CANDIDATES.

Why a bounded set: a frequent word (属实, 回避, 身份证) is in one line of twenty. Ranking every match means joining
each one to its session and case first (to know whether the user may see it), which took seconds at a million
lines (bench/scale_search.py). Taking the newest matches lets the database walk the index newest first and stop
once it has enough; only those are ranked. When fewer lines match, as for most searches, every match is ranked
and the answer is the same as ranking them all.

"Newest" is by the session's start (`sessions.created_at`, what the date range filters on), then by line. A store
fills in time order, so a walk by line id alone reached an old date range only after every newer match
(bench/results/scale_search*.json); walking by the session's start begins at the range's end.

On PostgreSQL the index row carries its session, its case's unit, its role (migration 16) and its session's start
(migration 17), all kept by triggers, so the scope, the role and the date range are conditions on the index row
itself (btree on (unit_id, session_created_at, rowid) and (session_created_at, rowid)), and the other filters on
sessions one semi-join. On SQLite the FTS5 table (which can hold no such column, nor an index on one) is joined as
before and walked newest line first. Bounding that walk to an old range's line ids costs a read of every line of
the range's sessions (no cheap bound exists without keeping each session's first and last line id), which cost
more than the walk it saved at 100,000 lines, and SQLite's walk is cheap per match (bench/results/scale_search.json).
"""
from dataclasses import dataclass
from typing import Any

from cases.access import UNITS_BELOW, Scope
from cases.pg_database import is_postgres
from cases.reads import one
from cases.search import index_terms, match_expression

RANKED_CANDIDATES = 200
"""At most this many of the newest matching lines (within scope and filters) are ranked."""


@dataclass(frozen=True, slots=True)
class Candidates:
    """`sql` selects `id` (the utterance id) and `score` (lower is better) of the lines to rank."""

    sql: str
    params: list[Any]


Started = tuple[str | None, str | None]
"""A date range on `sessions.created_at` (stored UTC ISO 8601): from (inclusive), before (exclusive); None: open."""


def candidate_lines(db: Any, terms: list[str], scope: Scope, *, filters_sql: tuple[str, list[Any]] | None,
                    role: str | None, started: Started = (None, None), limit: int) -> Candidates:
    """`filters_sql`: a condition over `s` (sessions) and `c` (cases) for the filters other than the scope, the
    role and the date range (`started`), or None when no such filter is set. At least `limit` candidates (the
    page's size) are taken."""
    count = max(RANKED_CANDIDATES, limit)
    if is_postgres(db):
        return _postgres(db, terms, scope, filters_sql=filters_sql, role=role, started=started, count=count)
    return _sqlite(terms, scope, filters_sql=filters_sql, role=role, started=started, count=count)


def _postgres(db: Any, terms: list[str], scope: Scope, *, filters_sql: tuple[str, list[Any]] | None,
              role: str | None, started: Started, count: int) -> Candidates:
    query = " ".join(index_terms(terms))
    conditions, params = ["f.words @@ plainto_tsquery('simple', ?)"], [query]
    if scope.kind == "unit":
        conditions.append("f.unit_id = ?")
        params.append(scope.id)
    elif scope.kind == "below":
        units = [row["id"] for row in db.query(UNITS_BELOW, [scope.id])]
        every_unit = one(db, "SELECT COUNT(*) AS n FROM units", [])["n"]
        # Written out, not as a subquery, so that the planner estimates from the column's statistics how many
        # lines are in scope; left out when the scope is every unit (a city's supervisor).
        if len(units) < every_unit:
            conditions.append(f"f.unit_id IN ({', '.join('?' for _ in units)})")
            params.extend(units)
    elif scope.kind != "all":  # assigned cases: few sessions
        where, values = scope.condition()
        conditions.append(f"f.session_id IN (SELECT s.id FROM sessions s JOIN cases c ON c.id = s.case_id"
                          f" WHERE {where})")
        params.extend(values)
    if filters_sql is not None:
        where, values = filters_sql
        conditions.append(f"f.session_id IN (SELECT s.id FROM sessions s JOIN cases c ON c.id = s.case_id"
                          f" WHERE {where})")
        params.extend(values)
    if role is not None:
        conditions.append("f.role = ?")
        params.append(role)
    if started != (None, None):
        range_sql, range_values = _started_sql("f.session_created_at", started)
        conditions.append(range_sql)
        params.extend(range_values)
    return Candidates(
        sql=(f"SELECT f.rowid AS id, -ts_rank(f.words, plainto_tsquery('simple', ?)) AS score FROM utterances_fts f"
             f" WHERE {' AND '.join(conditions)} ORDER BY f.session_created_at DESC, f.rowid DESC LIMIT {count}"),
        params=[query, *params])


def _sqlite(terms: list[str], scope: Scope, *, filters_sql: tuple[str, list[Any]] | None,
            role: str | None, started: Started, count: int) -> Candidates:
    where, params = scope.condition()
    conditions, values = ["utterances_fts MATCH ?", "u.merged_into IS NULL", f"({where})"], \
        [match_expression(terms), *params]
    if started != (None, None):
        range_sql, range_values = _started_sql("s.created_at", started)
        conditions.append(range_sql)
        values.extend(range_values)
    if filters_sql is not None:
        conditions.append(f"({filters_sql[0]})")
        values.extend(filters_sql[1])
    if role is not None:
        conditions.append("COALESCE(u.role, (SELECT sp.role FROM speakers sp WHERE sp.session_id = u.session_id"
                          " AND sp.label = u.speaker)) = ?")
        values.append(role)
    return Candidates(
        sql=("SELECT utterances_fts.rowid AS id, utterances_fts.rank AS score FROM utterances_fts"
             " JOIN utterances u ON u.id = utterances_fts.rowid JOIN sessions s ON s.id = u.session_id"
             f" JOIN cases c ON c.id = s.case_id WHERE {' AND '.join(conditions)}"
             f" ORDER BY utterances_fts.rowid DESC LIMIT {count}"),
        params=values)


def _started_sql(column: str, started: Started) -> tuple[str, list[Any]]:
    conditions, values = [], []
    for bound, operator in zip(started, (">=", "<")):
        if bound is not None:
            conditions.append(f"{column} {operator} ?")
            values.append(bound)
    return " AND ".join(conditions), values
