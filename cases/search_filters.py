"""Search limited to what a user may see, with filters: case, unit (and the units below it), officer,
speaker role, room, date range, sessions with procedural statements missing, sessions with a guardrail
violated (issue 20), and sessions whose written record differs from the recording (by discrepancy kind).

The `Search` concern of the store. `search` finds utterances by words alone (the command line's search, over
every case). For a user, two questions, two methods: `search_visible` finds utterances holding the query's
words (each with its session and the time to play from); `find_sessions` lists sessions matching the
filters alone (for example every session, in a centre, that misses a required statement).
"""
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from cases.access import UNITS_BELOW, Scope
from cases.concern import Concern
from cases.lookups import case_id
from cases.errors import InvalidQuery, UnitNotFound
from cases.locking import locked
from cases.reads import local_iso, one, to_s
from cases.search import highlight, query_terms
from cases.search_candidates import candidate_lines
from cases.written_records import DISCREPANCY_KINDS

MAX_RESULTS = 1000
MAX_SEARCH_LIMIT = MAX_RESULTS
ANY_RULE = "any"


@dataclass(frozen=True, slots=True)
class SearchFilters:
    case_no: str | None = None
    unit: str | None = None  # a unit's name: its cases and those of every unit below it
    officer: str | None = None  # a user name: sessions where they questioned
    role: str | None = None  # the speaker's role (讯问人, 被讯问人, ...)
    room: str | None = None
    date_from: date | None = None  # local dates, both inclusive
    date_to: date | None = None
    missing: str | None = None  # "any", or a rule key: sessions where that statement is not satisfied
    guardrail: str | None = None  # "any", or a guardrail key: sessions where that guardrail is violated
    discrepancy: str | None = None  # "any", or a kind: sessions whose latest written record has such a discrepancy


class Search(Concern):

    @locked
    def search(
        self,
        query: str,
        *,
        case_no: str | None = None,
        role: str | None = None,
        limit: int = 50,
    ) -> list[dict]:
        """Utterances holding every word of `query` (segmented with jieba), best matches first.

        Each result has `snippet`: the utterance text with the matched words marked 【 】.
        Raises InvalidQuery for a query with nothing to search for, CaseNotFound for an unknown
        `case_no`.
        """
        terms = query_terms(query)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise InvalidQuery(f"limit must be an integer from 1 to {MAX_SEARCH_LIMIT}, not {limit!r}")
        filtered = ("", []) if case_no is None else ("s.case_id = ?", [case_id(self._db, case_no)])
        return [{"utterance_id": r["utterance_id"], "session_id": r["session_id"], "case_no": r["case_no"],
                 "start_s": to_s(r["start_ms"]), "end_s": to_s(r["end_ms"]), "speaker": r["speaker"],
                 "role": r["role"], "text": r["text"], "snippet": highlight(r["text"], terms)}
                for r in self._ranked_lines(terms, Scope("all"), filtered, role=role, limit=limit)]

    @locked
    def search_visible(self, query: str, scope: Scope, filters: SearchFilters = SearchFilters(), *,
                       limit: int = 50) -> list[dict]:
        """Utterances holding every word of `query`, best first, within `scope` and the filters.

        Each hit: utterance_id, session_id, case_no, room, session_created_at, start_s (play from here),
        end_s, speaker, role, text and snippet (matches marked 【 】).
        """
        terms = query_terms(query)
        _check_limit(limit)
        # The date range also bounds the walk over the search index (cases/search_candidates.py), so the candidates
        # take it apart from the other session filters.
        rows = self._ranked_lines(terms, scope, self._session_filter_sql(filters), role=filters.role, limit=limit,
                                  started=_started_between(filters),
                                  candidate_filter=self._session_filter_sql(filters, dates=False))
        return [
            {"utterance_id": r["utterance_id"], "session_id": r["session_id"], "case_no": r["case_no"],
             "room": r["room"], "session_created_at": local_iso(r["created_at"]), "start_s": to_s(r["start_ms"]),
             "end_s": to_s(r["end_ms"]), "speaker": r["speaker"], "role": r["role"], "text": r["text"],
             "snippet": highlight(r["text"], terms)}
            for r in rows
        ]

    def _ranked_lines(self, terms: list[str], scope: Scope, filtered: tuple[str, list[Any]], *, role: str | None,
                      limit: int, started: tuple[str | None, str | None] = (None, None),
                      candidate_filter: tuple[str, list[Any]] | None = None) -> list[dict]:
        """The best `limit` of the newest matching lines (cases/search_candidates.py) in `scope`, the session filters
        `filtered` (SQL over s and c, "" for none) and the speaker `role`. `started`: the sessions' date range
        (`created_at` from, before), which `candidate_filter` (the filters for the candidates) leaves out."""
        candidate_filter = filtered if candidate_filter is None else candidate_filter
        candidates = candidate_lines(self._db, terms, scope,
                                     filters_sql=candidate_filter if candidate_filter[0] else None,
                                     role=role, started=started, limit=limit)
        scores = {row["id"]: row["score"] for row in self._db.query(candidates.sql, candidates.params)}
        if not scores:
            return []
        where, params = _with_scope(scope, filtered)
        if role is not None:
            where, params = f"{where} AND COALESCE(u.role, sp.role) = ?", [*params, role]
        # The candidates' lines, with the scope and the filters checked again: the one place that says who sees
        # what (cases.access.Scope) has the last word, whatever the index rows carry. A second query, not a join on
        # the first: the planner cannot estimate how many lines the first keeps, and guessed badly.
        found = list(self._db.query(
            "SELECT u.id AS utterance_id, u.session_id, c.case_no, s.room, s.created_at, u.start_ms, u.end_ms,"
            " u.speaker, COALESCE(u.role, sp.role) AS role, u.text FROM utterances u"
            " JOIN sessions s ON s.id = u.session_id JOIN cases c ON c.id = s.case_id"
            " LEFT JOIN speakers sp ON sp.session_id = u.session_id AND sp.label = u.speaker"
            f" WHERE u.id IN ({', '.join('?' for _ in scores)}) AND u.merged_into IS NULL AND {where}",
            [*scores, *params],
        ))
        # Equally good lines: the newest session first (the candidates are the newest lines), in the order said.
        found.sort(key=lambda r: (scores[r["utterance_id"]], -r["session_id"], r["start_ms"]))
        return found[:limit]

    @locked
    def find_sessions(self, scope: Scope, filters: SearchFilters = SearchFilters(), *, limit: int = 100) -> list[dict]:
        """Sessions within `scope` matching the filters, newest first, each with its statements not
        satisfied (`unmet`) and `play_from_s` (where the first of those was found, else 0)."""
        _check_limit(limit)
        where, params = self._filter_sql(scope, filters)
        if filters.role is not None:
            where, params = f"{where} AND s.id IN (SELECT session_id FROM speakers WHERE role = ?)", \
                [*params, filters.role]
        rows = list(self._db.query(
            "SELECT s.id, c.case_no, s.room, s.status, s.created_at, s.duration_ms FROM sessions s"
            f" JOIN cases c ON c.id = s.case_id WHERE {where} ORDER BY s.id DESC LIMIT ?", [*params, limit]))
        results = []
        for r in rows:
            unmet = [
                {"key": f["rule_key"], "title": f["title"], "status": f["status"],
                 "start_s": None if f["start_ms"] is None else to_s(f["start_ms"]),
                 "utterance_ids": json.loads(f["utterance_ids_json"])}
                for f in self._db.query("SELECT * FROM findings WHERE session_id = ? AND status != 'satisfied'"
                                        " ORDER BY seq", [r["id"]])
            ]
            starts = [f["start_s"] for f in unmet if f["start_s"] is not None]
            written = one(self._db, "SELECT discrepancy_kinds FROM written_records WHERE session_id = ?"
                                    " ORDER BY version DESC LIMIT 1", [r["id"]])
            results.append({"session_id": r["id"], "case_no": r["case_no"], "room": r["room"], "status": r["status"],
                            "created_at": local_iso(r["created_at"]), "duration_s": to_s(r["duration_ms"]),
                            "unmet": unmet, "play_from_s": min(starts) if starts else 0.0,
                            "violated": [
                                {"key": g["guard_key"], "title": g["title"], "detail": g["detail"],
                                 "at_s": None if g["at_ms"] is None else to_s(g["at_ms"])}
                                for g in self._db.query("SELECT * FROM guardrail_findings WHERE session_id = ? AND"
                                                        " status = 'violated' ORDER BY seq", [r["id"]])],
                            "discrepancy_kinds": None if written is None else written["discrepancy_kinds"].split()})
        return results

    def _filter_sql(self, scope: Scope, filters: SearchFilters) -> tuple[str, list[Any]]:
        """SQL over s (sessions) and c (cases) for the scope and the session-level filters."""
        return _with_scope(scope, self._session_filter_sql(filters))

    def _session_filter_sql(self, filters: SearchFilters, *, dates: bool = True) -> tuple[str, list[Any]]:
        """SQL over s (sessions) and c (cases) for the session-level filters ("" when none is set); without the
        date range if not `dates`."""
        conditions: list[str] = []
        values: list[Any] = []
        if filters.case_no is not None:
            conditions.append("c.case_no = ?")
            values.append(filters.case_no)
        if filters.unit is not None:
            unit = one(self._db, "SELECT id FROM units WHERE name = ?", [filters.unit])
            if unit is None:
                raise UnitNotFound(f"no unit named {filters.unit!r}")
            conditions.append(f"c.unit_id IN ({UNITS_BELOW})")
            values.append(unit["id"])
        if filters.officer is not None:
            conditions.append("s.id IN (SELECT o.session_id FROM session_officers o JOIN users x ON x.id = o.user_id"
                              " WHERE x.name = ?)")
            values.append(filters.officer)
        if filters.room is not None:
            conditions.append("s.room = ?")
            values.append(filters.room)
        started_from, started_before = _started_between(filters)
        if dates and started_from is not None:
            conditions.append("s.created_at >= ?")
            values.append(started_from)
        if dates and started_before is not None:
            conditions.append("s.created_at < ?")
            values.append(started_before)
        # Sessions with a finding that failed: any (ANY_RULE), or the one whose key is given.
        failing = ((filters.missing, "SELECT session_id FROM findings WHERE status != 'satisfied'", "rule_key"),
                   (filters.guardrail, "SELECT session_id FROM guardrail_findings WHERE status = 'violated'",
                    "guard_key"))
        for wanted, failed, key_column in failing:
            if wanted is None:
                continue
            if wanted == ANY_RULE:
                conditions.append(f"s.id IN ({failed})")
            else:
                conditions.append(f"s.id IN ({failed} AND {key_column} = ?)")
                values.append(wanted)
        if filters.discrepancy is not None:
            latest = ("SELECT w.session_id FROM written_records w WHERE w.version ="
                      " (SELECT MAX(x.version) FROM written_records x WHERE x.session_id = w.session_id)")
            if filters.discrepancy == ANY_RULE:
                conditions.append(f"s.id IN ({latest} AND w.discrepancy_count > 0)")
            elif filters.discrepancy in DISCREPANCY_KINDS:
                conditions.append(f"s.id IN ({latest} AND w.discrepancy_kinds LIKE ?)")
                values.append(f"% {filters.discrepancy} %")
            else:
                raise InvalidQuery(f"unknown discrepancy kind {filters.discrepancy!r}: use any or one of "
                                   f"{', '.join(DISCREPANCY_KINDS)}", zh="不认识的不一致类型")
        return " AND ".join(conditions), values


def _with_scope(scope: Scope, filtered: tuple[str, list[Any]]) -> tuple[str, list[Any]]:
    where, params = scope.condition()
    if not filtered[0]:
        return f"({where})", list(params)
    return f"({where}) AND {filtered[0]}", [*params, *filtered[1]]


def _started_between(filters: SearchFilters) -> tuple[str | None, str | None]:
    """The date range as bounds on `sessions.created_at` (stored UTC): from the start of `date_from`, before the
    start of the day after `date_to` (local dates, both inclusive); None where not set."""
    if filters.date_from is not None and filters.date_to is not None and filters.date_from > filters.date_to:
        raise InvalidQuery(f"date_from {filters.date_from} is after date_to {filters.date_to}",
                           zh=f"起始日期 {filters.date_from} 晚于截止日期 {filters.date_to}")
    return (None if filters.date_from is None else _utc_start_of(filters.date_from),
            None if filters.date_to is None else _utc_start_of(filters.date_to + timedelta(days=1)))


def _utc_start_of(day: date) -> str:
    """Local midnight at the start of `day`, in the stored form (UTC ISO 8601)."""
    local_midnight = datetime.combine(day, time.min).astimezone()
    return local_midnight.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_RESULTS:
        raise InvalidQuery(f"limit must be an integer from 1 to {MAX_RESULTS}, not {limit!r}")
