"""Plain HTML pages: the list of sessions and a transcript. (The full officers' pages come later.)

Every value is escaped: transcript text is always shown as text, never run.
"""
from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from cases import scope_of

from api.access import PageUser
from api.deps import StoreDep

router = APIRouter(tags=["pages"], include_in_schema=False)

_STYLE = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem}
table{border-collapse:collapse;width:100%} td,th{padding:.3rem .5rem;border-bottom:1px solid #ddd;text-align:left}
.t{color:#666;font-variant-numeric:tabular-nums;white-space:nowrap}.r{font-weight:bold;white-space:nowrap}
"""


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )


@router.get("/", response_class=HTMLResponse)
def index(user: PageUser, store: StoreDep) -> HTMLResponse:
    rows = []
    scope = scope_of(user)
    for case in store.cases_in_scope(scope):
        for s in store.sessions_in_scope(scope, case["case_no"]):
            rows.append(
                f"<tr><td>{escape(case['case_no'])}</td><td><a href='/sessions/{s['id']}/page'>会话 {s['id']}</a></td>"
                f"<td>{escape(s.get('room') or '')}</td><td>{escape(s['created_at'])}</td>"
                f"<td>{s['duration_s']:.1f} 秒</td><td>{escape(s['status'])}</td></tr>"
            )
    table = "".join(rows) or "<tr><td colspan=6>暂无案件。运行 <code>bilu transcribe FILE --case CASE_NO</code></td></tr>"
    return _page(
        "笔录 Bilu",
        f"<h1>笔录 Bilu</h1><p>{escape(user.display_name)} · <a href='/docs'>API 文档</a> · <a href='/health'>运行状态</a></p>"
        f"<table><tr><th>案件编号</th><th>会话</th><th>讯问室</th><th>时间</th><th>时长</th><th>状态</th></tr>{table}</table>",
    )


@router.get("/sessions/{session_id}/page", response_class=HTMLResponse)
def transcript_page(session_id: int, user: PageUser, store: StoreDep) -> HTMLResponse:
    store.require_session_in_scope(session_id, scope_of(user))
    session = store.get_session(session_id)
    store.record_audit(user, "session.page", session_id=session_id, case_no=session["case_no"])
    lines = "".join(
        f"<tr><td class=t>{_clock(u['start_s'])}</td><td class=r>{escape(u.get('role') or u.get('speaker') or '?')}</td>"
        f"<td>{escape(u['text'])}</td></tr>"
        for u in store.utterances(session_id)
    )
    exports = " · ".join(f"<a href='/sessions/{session_id}/export?format={f}'>{f}</a>" for f in
                         ("txt", "docx", "json", "srt", "vtt", "rttm"))
    return _page(
        f"会话 {session_id}",
        f"<p><a href='/'>← 全部案件</a></p><h1>案件 {escape(session['case_no'])} · 会话 {session_id}</h1>"
        f"<p>讯问室 {escape(session.get('room') or '-')} · {session['duration_s']:.1f} 秒 · 导出：{exports}</p>"
        f"<table>{lines}</table>",
    )


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}:{secs:02d}"
