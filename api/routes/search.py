from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cases import SearchFilters

from api.access import CurrentUser, UserScope
from api.deps import StoreDep
from api.schemas import SearchHit, SessionMatch

router = APIRouter(prefix="/search", tags=["search"])


def search_filters(
    case_no: str | None = None,
    unit: str | None = Query(None, description="A unit's name: its cases and those of the units below it."),
    officer: str | None = Query(None, description="A user name: sessions in which they questioned."),
    role: str | None = Query(None, description="Speaker role, e.g. 讯问人 or 被讯问人."),
    room: str | None = None,
    date_from: date | None = Query(None, description="Sessions from this day (local time)."),
    date_to: date | None = Query(None, description="Sessions up to and including this day."),
    missing: str | None = Query(None, description="'any', or a rule key: sessions where it is not satisfied."),
    guardrail: str | None = Query(None, description="'any', or a guardrail key: sessions where it is violated."),
    discrepancy: str | None = Query(None, description="'any', or a kind (written_not_said, said_not_written, "
                                                      "changed, header_time): sessions whose latest written record "
                                                      "differed from the recording so when imported."),
) -> SearchFilters:
    return SearchFilters(case_no=case_no, unit=unit, officer=officer, role=role, room=room, date_from=date_from,
                         date_to=date_to, missing=missing, guardrail=guardrail, discrepancy=discrepancy)


Filters = Annotated[SearchFilters, Depends(search_filters)]


@router.get("", response_model=list[SearchHit], summary="全文检索语句（中文分词）")
def search(
    filters: Filters,
    scope: UserScope,
    user: CurrentUser,
    store: StoreDep,
    q: str = Query(..., min_length=1, max_length=200, description="Chinese words or phrases"),
    limit: int = Query(50, ge=1, le=500),
) -> list[dict]:
    """Lines holding every word of `q`, in the sessions the user may see: each with its session, the time to
    play from (`start_s`) and a snippet with the matches marked 【 】."""
    hits = store.search_visible(q, scope, filters, limit=limit)
    store.record_audit(user, "search", detail={"hits": len(hits), "sessions": sorted({h["session_id"] for h in hits})})
    return hits


@router.get("/sessions", response_model=list[SessionMatch], summary="按条件筛选讯问（不需检索词）")
def search_sessions(filters: Filters, scope: UserScope, store: StoreDep,
                    limit: int = Query(100, ge=1, le=1000)) -> list[dict]:
    """Sessions matching the filters alone (e.g. `missing=any`: those lacking a required statement)."""
    return store.find_sessions(scope, filters, limit=limit)
