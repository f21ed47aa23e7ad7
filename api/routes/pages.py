"""The web pages: cases, a case's sessions, a session (player, transcript, corrections, live view), search,
and an offline API reference. Rendered with Jinja2 (autoescape: transcript text is always shown as text);
the pages' scripts call the JSON API with the login cookie and the CSRF header.
"""
from datetime import date

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from cases import CHECKABLE_STATUSES, InvalidQuery, SearchFilters, UserNotFound, may_correct, scope_of
from cases.exports import ANSWERING_ROLES
from engine.guardrails import guards_for
from cases.revisions import CORRECTABLE_STATUSES
from diarize import ROLES
from error_kinds import BadInput
from lexicon import RuleError

from api.access import PageUser, may_withdraw
from engine.checking import DEFAULT_RULE_SET, rule_set_for
from api.deps import SettingsDep, StoreDep
from api.errors_http import chinese_message
from api.templating import STATIC_DIR, render_page

router = APIRouter(tags=["pages"], include_in_schema=False)

# Roles offered when relabelling a speaker or filtering a search: the diarizer's, then the suspect's titles.
ROLE_CHOICES = tuple(dict.fromkeys((*ROLES, *ANSWERING_ROLES)))
EXPORTS = (("docx", "讯问笔录 DOCX"), ("txt", "文本 TXT"), ("json", "JSON"), ("srt", "字幕 SRT"),
           ("vtt", "字幕 VTT"), ("rttm", "说话人 RTTM"),
           ("package", "封存证据包 ZIP"))
SEARCH_LIMIT = 100
# The API reference's groups (the routes' tags), as an officer reads them.
TAG_ZH = {"auth": "登录与令牌", "cases": "案件", "people": "案件人员", "sessions": "讯问", "utterances": "语句与修改",
          "speakers": "说话人", "findings": "程序检查", "guardrails": "讯问规范", "signing": "核对签名",
          "audio": "录音回放", "search": "检索", "rooms": "讯问室录音", "uploads": "上传录音", "integrity": "完整性校验",
          "units": "单位", "users": "用户", "health": "服务状态", "written record": "书面笔录比对"}


@router.get("/", response_class=HTMLResponse)
def cases_page(user: PageUser, store: StoreDep) -> HTMLResponse:
    return render_page("cases.html", user=user, cases=store.cases_in_scope(scope_of(user)),
                       filing_units=store.units_for_new_cases(user))


@router.get("/cases/{case_no}/page", response_class=HTMLResponse)
def case_page(case_no: str, user: PageUser, store: StoreDep) -> HTMLResponse:
    scope = scope_of(user)
    case = store.case_in_scope(case_no, scope)  # another unit's case: 404, as if it did not exist
    return render_page("case.html", user=user, case=case, sessions=store.sessions_in_scope(scope, case_no),
                       may_record=may_correct(user))


@router.get("/sessions/{session_id}/page", response_class=HTMLResponse)
def session_page(session_id: int, user: PageUser, store: StoreDep,
                 t: float | None = Query(None, ge=0, description="Seek the player to this time (seconds).")
                 ) -> HTMLResponse:
    store.require_session_in_scope(session_id, scope_of(user))
    session = {**store.get_session(session_id), "outages": store.outages(session_id)}
    store.record_audit(user, "session.page", session_id=session_id, case_no=session["case_no"])
    guardrails = store.guardrail_findings(session_id)
    review = store.record_review(session_id)
    # An uploaded file still being transcribed is not a live room: the page follows it by polling its progress.
    live = session["kind"] == "live" and session["status"] == "transcribing"
    following = session["kind"] == "file" and session["status"] == "transcribing"
    withdrawn = session.get("withdrawn")
    withdrawn_by = _display_name(store, withdrawn["by"]) if withdrawn else None
    speakers = store.speakers(session_id)
    return render_page(
        "session.html", user=user, session=session, utterances=store.utterances(session_id),
        speakers=speakers, speaker_colours=speaker_colours(speakers), findings=session["findings"], exports=EXPORTS,
        role_choices=ROLE_CHOICES, live=live, following=following, start_t=t, withdrawn_by=withdrawn_by,
        guardrails=guardrails, review=review,
        may_withdraw=(may_withdraw(user) and not withdrawn and session["kind"] == "file"
                      and session["status"] != "transcribing"),
        may_correct=may_correct(user) and not withdrawn and (live or session["status"] in CORRECTABLE_STATUSES),
        # once the upload is transcribed, the page allows corrections without a reload
        can_correct=may_correct(user) and not withdrawn and (live or following
                                                             or session["status"] in CORRECTABLE_STATUSES),
        may_upload_written=may_correct(user) and session["status"] in CHECKABLE_STATUSES,
        written_versions=len(store.written_records(session_id)),
    )


DISCREPANCY_CHOICES = (("any", "任一不一致"), ("written_not_said", "笔录有、录音无"), ("said_not_written", "录音有、笔录无"),
                       ("changed", "内容不一致"), ("header_time", "起止时间不符"))


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """Public like /static: browsers ask for it on every page (it answered 404 before)."""
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})


@router.get("/search/page", response_class=HTMLResponse)
def search_page(
    user: PageUser,
    store: StoreDep,
    settings: SettingsDep,
    q: str = "",
    case_no: str = "",
    role: str = "",
    room: str = "",
    date_from: str = "",
    date_to: str = "",
    missing: str = "",
    guardrail: str = "",
    discrepancy: str = "",
) -> HTMLResponse:
    """Lines matching `q` within the filters; with filters alone, the sessions matching them."""
    form = {"q": q.strip(), "case_no": case_no, "role": role, "room": room.strip(), "date_from": date_from,
            "date_to": date_to, "missing": missing, "guardrail": guardrail, "discrepancy": discrepancy}
    scope = scope_of(user)
    hits = sessions = None
    error = None
    try:
        filters = SearchFilters(case_no=case_no or None, role=role or None, room=form["room"] or None,
                                date_from=_day(date_from, "起始日期"), date_to=_day(date_to, "截止日期"),
                                missing=missing or None, guardrail=guardrail or None,
                                discrepancy=discrepancy or None)
        if form["q"]:
            hits = store.search_visible(form["q"][:200], scope, filters, limit=SEARCH_LIMIT)
            store.record_audit(user, "search", detail={"hits": len(hits),
                                                       "sessions": sorted({h["session_id"] for h in hits})})
        elif any(value for key, value in form.items() if key != "q"):
            sessions = store.find_sessions(scope, filters, limit=SEARCH_LIMIT)
    except BadInput as exc:  # our input errors (a query with nothing to search, an unknown case ...)
        error = f"无法检索：{chinese_message(exc)}"
        hits = sessions = None
    cases = store.cases_in_scope(scope)
    rooms = sorted({s["room"] for s in store.sessions_in_scope(scope) if s["room"]})
    return render_page("search.html", user=user, form=form, cases=cases, rooms=rooms, role_choices=ROLE_CHOICES,
                       missing_choices=_rule_choices(settings), guardrail_choices=_guard_choices(settings),
                       discrepancy_choices=DISCREPANCY_CHOICES, hits=hits, sessions=sessions, error=error,
                       limit=SEARCH_LIMIT)


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request, user: PageUser) -> HTMLResponse:
    """The API's routes grouped by resource, from the OpenAPI schema. Swagger UI would load its scripts from
    another site, which this offline service never does: the schema itself is at /openapi.json."""
    groups: dict[str, list[dict]] = {}
    for path, methods in request.app.openapi()["paths"].items():
        for method, operation in methods.items():
            tag = (operation.get("tags") or ["other"])[0]
            tag = f"{TAG_ZH[tag]}（{tag}）" if tag in TAG_ZH else tag
            groups.setdefault(tag, []).append({"method": method.upper(), "path": path,
                                               "summary": operation.get("summary", "")})
    return render_page("docs.html", user=user, groups=sorted(groups.items()))


def speaker_colours(speakers: list[dict]) -> dict[str, int]:
    """A colour (0–7) per speaker, in the order of the speakers list; static/session.js colours new ones the same
    way. Given in the HTML, not by the script after load: 4,000 lines restyled after load cost a second layout."""
    return {speaker["label"]: index % 8 for index, speaker in enumerate(speakers)}


def _display_name(store, user_name: str) -> str:
    """The name people know (the login name of an account since removed, or of the command line's actor)."""
    try:
        return store.account(user_name).display_name
    except UserNotFound:
        return user_name


def _day(value: str, label: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidQuery(f"{label} {value!r} is not a date (YYYY-MM-DD)",
                           zh=f"{label} {value!r} 不是日期（格式：2026-03-05）") from None


def _guard_choices(settings) -> list[tuple[str, str]]:
    """The guardrails, for the 'guardrail' filter."""
    try:
        return [(guard.key, guard.title) for guard in guards_for(settings)]
    except RuleError:
        return []


def _rule_choices(settings) -> list[tuple[str, str]]:
    """The required statements of the default rule set, for the 'missing' filter."""
    try:
        return [(rule.key, rule.title) for rule in rule_set_for(settings, DEFAULT_RULE_SET).rules]
    except RuleError:
        return []
