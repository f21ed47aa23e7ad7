"""Errors as HTTP answers, in one table: the kind of an error (error_kinds) gives the status, its code the Chinese
message. API clients get JSON `{"code": "<stable snake_case>", "detail": "<Chinese message>"}`; a browser asking
for a page gets a Chinese HTML page with the status, the message and a way back (never a JSON dump).

- bad input → 4xx (422; 404 for something missing, 409 for a clash with what is stored, 413 for a large upload);
- configuration or environment (model missing, pyannote folder broken, no audio device, disk full) → 503, the
  message naming what to fix;
- anything else is a bug → 500 with a short error id, shown to the user and logged with the traceback under it.

The detail is the Chinese message for the code, then the particulars the error carries (a file name, an id, the
setting to fix), which stay as the raising package wrote them.
"""
import logging
import re
import secrets
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from error_kinds import Kind, code_of, kind_of

from api.access import LoginRequired, login_url
from api.templating import render_page

log = logging.getLogger(__name__)

STATUS_BY_KIND = {Kind.BAD_INPUT: 422, Kind.NOT_FOUND: 404, Kind.CONFLICT: 409, Kind.UNAVAILABLE: 503,
                  Kind.BUG: 500}
# Where a code needs another status than its kind's.
STATUS_BY_CODE = {"upload_too_large": 413}

# The Chinese message of every code: what happened, and for Unavailable what an administrator should check.
MESSAGES_ZH = {
    # kinds (an error that names no code of its own)
    "bad_input": "请求有误",
    "not_found": "找不到所请求的内容",
    "conflict": "与已保存的内容冲突",
    "unavailable": "服务暂时无法完成此操作，请联系管理员",
    "disk_full": "磁盘空间已满，无法保存：请管理员清理磁盘后重试",
    "internal_error": "服务内部出错",
    # capture
    "audio_device_unavailable": "录音设备不可用：请检查麦克风是否连接、声音服务是否运行",
    "capture_setting_invalid": "录音设置有误",
    "audio_device_lost": "录音设备中断（设备被拔出或声音服务停止）",
    "recording_not_written": "录音无法写入磁盘（磁盘已满或录音文件夹不可用），已写入的部分已保留",
    "audio_unreadable": "无法读取该录音文件",
    # transcribe
    "asr_model_unavailable": "语音识别模型缺失或损坏：请管理员检查 BILU_ASR_MODEL 设置及模型文件夹",
    "streaming_input_invalid": "实时转写的音频或设置有误",
    "window_setting_invalid": "转写窗口设置超出范围",
    # diarize
    "diarization_input_invalid": "无法区分说话人：音频或参数有误",
    "diarizer_unavailable": "说话人区分模型不可用：请管理员检查 pyannote 安装及 BILU_PYANNOTE_PIPELINE 文件夹",
    "role_invalid": "座位角色有误",
    # lexicon
    "lexicon_input_invalid": "词表或笔录内容有误",
    "rule_invalid": "规则集或附加条件有误",
    "transcript_invalid": "笔录文件的格式不对",
    # consistency
    "written_record_invalid": "笔录文件无法读取",
    "written_record_not_found": "该讯问尚未导入笔录",
    # cases
    "store_input_invalid": "请求有误",
    "record_locked": "笔录已签名锁定，只能对签名后的补正确认签名",
    "review_not_found": "尚未开始核对，或没有该签名、补正",
    "package_not_readable": "不是笔录导出包（文件不存在、不是 ZIP 或缺少 manifest.json）",
    "store_copy_refused": "无法复制到 PostgreSQL：地址不是 postgresql://、SQLite 存储不存在或版本较旧，或目标数据库不是空的",
    "database_unavailable": "无法连接数据库：请管理员检查 BILU_DATABASE_URL 设置及 PostgreSQL 服务",
    "case_number_invalid": "案件编号不符合要求",
    "case_not_found": "找不到该案件（不存在，或不在您的查看范围内）",
    "session_not_found": "找不到该次讯问笔录（不存在，或不在您的查看范围内）",
    "session_not_deletable": "已完成的笔录不能删除",
    "session_not_withdrawable": "本次讯问不能撤回",
    "search_invalid": "无法检索",
    "export_format_unknown": "不支持该导出格式",
    "account_invalid": "单位或账户信息不符合要求",
    "unit_not_found": "找不到该单位",
    "user_not_found": "找不到该用户",
    "account_exists": "该名称已被使用",
    "case_exists": "该案件编号已被使用",
    "correction_invalid": "无法进行该项修改",
    "utterance_not_found": "找不到该句笔录（不存在，或已与相邻语句合并）",
    "speaker_not_found": "找不到该说话人",
    "version_stale": "他人已先保存了修改：请查看最新内容后再试",
    # engine and api
    "room_busy": "该讯问室正在录音",
    "room_not_found": "找不到该审讯室（bilu rooms list 列出已登记的审讯室）",
    "stream_invalid": "审讯室终端发送的录音数据有误",
    "agent_offline": "审讯室终端不在线：请检查审讯室电脑上的 bilu agent 和网络",
    "agent_refused": "服务器拒绝了审讯室终端：令牌无效、已被吊销或属于其他审讯室",
    "agent_option_invalid": "审讯室终端的设置有误",
    "model_folder_invalid": "识别模型文件夹不完整或有误：请按 bilu models check 列出的问题修正",
    "session_busy": "正在运行的服务仍占用这场讯问的录音：请在该服务上结束，或先停止服务",
    "agent_online": "审讯室终端仍在线，录音并未中断：不能按失联结束",
    "agent_stream_not_open": "该场讯问没有仍在进行的审讯室终端录音（不是终端录音，或已结束）",
    "service_stopping": "服务正在停止：请在服务重新启动后再上传",
    "broker_unavailable": "转写队列暂不可用：请管理员检查 Redis（BILU_BROKER_URL）",
    "live_events_unavailable": "暂时无法读取另一台服务器上的录音状态：请管理员检查 Redis（BILU_BROKER_URL）",
    "remote_start_unavailable": "无法确认另一台服务器上的审讯室终端已开始录音：请刷新页面查看，必要时重试；请管理员检查 Redis（BILU_BROKER_URL）",
    "remote_stop_unavailable": "无法确认另一台服务器上的录音已结束：请刷新页面查看，必要时重试；请管理员检查 Redis（BILU_BROKER_URL）",
    "transcription_failed": "转写失败：请查看该次笔录的错误信息",
    "upload_invalid": "上传的内容有误",
    "upload_too_large": "上传的文件超过大小上限",
    "number_out_of_range": "请求中的数字超出范围",
    "invalid_request": "请求参数有误",
    "settings_invalid": "服务设置有误：请管理员检查 BILU_* 环境变量",
    # HTTPException by status (routes and access rules)
    "bad_request": "请求有误",
    "login_required": "请先登录",
    "forbidden": "您无权进行此操作",
    "method_not_allowed": "不支持该请求方式",
    "too_many_requests": "尝试次数过多，请稍后再试",
}
# HTTPException (raised by routes and the access rules with an English particular) → its code.
CODE_BY_STATUS = {400: "bad_request", 401: "login_required", 403: "forbidden", 404: "not_found",
                  405: "method_not_allowed", 409: "conflict", 413: "upload_too_large", 422: "invalid_request",
                  429: "too_many_requests", 503: "unavailable"}
TITLES_ZH = {400: "请求有误", 401: "需要登录", 403: "无权访问", 404: "找不到", 405: "请求方式有误",
             409: "操作冲突", 413: "文件过大", 422: "请求有误", 429: "请稍后再试", 500: "服务内部出错",
             503: "服务暂不可用"}

# What pydantic reports, in Chinese (a validation error on a path, query or body part).
_VALIDATION_ZH = {
    "missing": "缺少此项", "int_parsing": "应为整数", "float_parsing": "应为数字", "bool_parsing": "应为是或否",
    "string_type": "应为文字", "int_type": "应为整数", "float_type": "应为数字", "dict_type": "应为对象",
    "list_type": "应为列表", "json_invalid": "不是有效的 JSON", "model_attributes_type": "应为对象",
    "greater_than_equal": "太小", "greater_than": "太小", "less_than_equal": "太大", "less_than": "太大",
    "string_too_short": "太短", "string_too_long": "太长", "too_short": "太少", "too_long": "太多",
    "literal_error": "不是允许的取值", "enum": "不是允许的取值", "date_parsing": "不是日期（格式：2026-03-05）",
    "date_from_datetime_parsing": "不是日期（格式：2026-03-05）", "extra_forbidden": "不允许此项",
}
_WHERE_ZH = {"path": "网址中的", "query": "查询参数", "body": "请求内容", "header": "请求头", "cookie": "Cookie"}
_BUG_ID_CHARS = 8
_PAGE_PATH = re.compile(r"^/$|/page$|^/docs$|^/login$")


@dataclass(frozen=True, slots=True)
class HttpError:
    status: int
    code: str
    detail: str
    particulars: str = ""  # the error's own message, shown in smaller type on a page
    message: str | None = None  # the Chinese message of this one error, if the raise gave one
    error_id: str | None = None
    headers: dict | None = None
    extra: dict | None = None  # further JSON fields (StaleVersion: the stored version; 413: the limit)


def chinese_detail(code: str, particulars: str, *, zh: str | None = None) -> str:
    """The Chinese message (the raise's own `zh`, else the code's), then the particulars unless they are empty."""
    message = zh or MESSAGES_ZH.get(code, MESSAGES_ZH["bad_input"])
    particulars = particulars.strip()
    if not particulars or particulars == message:
        return message
    return f"{message}。详情：{particulars}"


def chinese_message(exc: BaseException) -> str:
    """What a page shows for one of our errors it answers itself (the search form): the raise's Chinese message,
    or the code's with the particulars."""
    return getattr(exc, "zh", None) or chinese_detail(code_of(exc), str(exc))


def http_error(exc: BaseException) -> HttpError:
    """The one table: what an exception becomes over HTTP (a bug gets a fresh id, and is logged by the caller)."""
    if isinstance(exc, StarletteHTTPException):
        code = CODE_BY_STATUS.get(exc.status_code, "bad_request" if exc.status_code < 500 else "unavailable")
        particulars = str(exc.detail)
        return HttpError(exc.status_code, code, chinese_detail(code, particulars), particulars,
                         headers=dict(exc.headers) if exc.headers else None)
    if isinstance(exc, RequestValidationError):
        particulars = validation_message(exc)
        return HttpError(422, "invalid_request", chinese_detail("invalid_request", particulars),
                         message=f"{MESSAGES_ZH['invalid_request']}：{particulars}")
    if isinstance(exc, OverflowError):
        # An id or number too large for SQLite's 64-bit integers (/sessions/99999999999999999999999) names
        # nothing stored: the request is wrong, not the service.
        particulars = f"a number in the request is out of range: ids and counts are whole numbers up to " \
                      f"{2 ** 63 - 1} ({exc})"
        return HttpError(422, "number_out_of_range", chinese_detail("number_out_of_range", particulars), particulars)
    kind = kind_of(exc)
    code = code_of(exc)
    status = STATUS_BY_CODE.get(code, STATUS_BY_KIND[kind])
    if kind is Kind.BUG:
        error_id = secrets.token_hex(_BUG_ID_CHARS // 2)
        return HttpError(500, code, f"{MESSAGES_ZH['internal_error']}：请把错误编号 {error_id} 告知管理员",
                         error_id=error_id)
    extra = None
    if hasattr(exc, "current_version"):  # StaleVersion: what the other person saved, to show and retry
        extra = {"current_version": exc.current_version, "current": exc.current}
    if hasattr(exc, "limit_bytes"):  # UploadTooLarge
        extra = {"limit_bytes": exc.limit_bytes}
    headers = {"Connection": "close"} if code == "upload_too_large" else None  # the rest of the body is not read
    zh = getattr(exc, "zh", None)
    return HttpError(status, code, chinese_detail(code, str(exc), zh=zh), str(exc), message=zh, headers=headers,
                     extra=extra)


def validation_message(exc: RequestValidationError) -> str:
    """Pydantic's errors as one Chinese line: 地址 session_id：应为整数（收到 'abc'）; …"""
    parts = []
    for error in exc.errors()[:5]:
        location = [str(item) for item in error.get("loc", ())]
        where = _WHERE_ZH.get(location[0], location[0]) if location else ""
        name = ".".join(location[1:])
        what = _VALIDATION_ZH.get(error.get("type", ""), error.get("msg", ""))
        given = error.get("input")
        shown = f"（收到 {given!r}）" if isinstance(given, (str, int, float)) and len(repr(given)) <= 60 else ""
        parts.append(f"{where} {name}：{what}{shown}".strip())
    return "；".join(parts)


def wants_page(request: Request) -> bool:
    """A page's address, or a browser navigating (it asks for text/html first); scripts and API clients do not."""
    if _PAGE_PATH.search(request.url.path):
        return True
    return request.method == "GET" and request.headers.get("accept", "").startswith("text/html")


def error_response(request: Request, exc: BaseException) -> Response:
    """The answer for `exc`: a Chinese page for a page, JSON with code and detail for the API."""
    if isinstance(exc, LoginRequired):  # a page asked for without a login: the login form, then back
        return RedirectResponse(login_url(exc.next_path), status_code=303)
    error = http_error(exc)
    if error.error_id is not None:
        log.error("error %s on %s %s", error.error_id, request.method, request.url.path, exc_info=exc)
    elif error.status >= 500:
        log.warning("%s on %s %s: %s", error.code, request.method, request.url.path, error.particulars)
    if wants_page(request):
        return error_page(request, error)
    body = {"code": error.code, "detail": error.detail}
    if error.error_id is not None:
        body["error_id"] = error.error_id
    body.update(error.extra or {})
    return JSONResponse(body, status_code=error.status, headers=error.headers)


def error_page(request: Request, error: HttpError) -> Response:
    back = request.headers.get("referer", "")
    same_site = back.startswith(f"{request.url.scheme}://{request.url.netloc}/") and back != str(request.url)
    return render_page("error.html", status_code=error.status, user=None, status=error.status,
                       title=TITLES_ZH.get(error.status, "出错了"), message=_page_message(error),
                       particulars="" if error.particulars in _ROUTER_PHRASES else error.particulars,
                       error_id=error.error_id, code=error.code,
                       back_url=back if same_site else None)


# Starlette's own English words for a missing route: kept in the API's detail (clients match them), not on a page.
_ROUTER_PHRASES = ("Not Found", "Method Not Allowed")


def _page_message(error: HttpError) -> str:
    if error.error_id is not None:
        return error.detail
    return error.message or MESSAGES_ZH.get(error.code, error.detail)


class CatchAll:
    """Pure ASGI: what no handler answered (a bug, or a full disk deep in a library) becomes a 500 or 503 here.

    Starlette's handler for Exception answers too, but then raises the error again for the server to log: a
    traceback twice, once without the id the user was shown. This answers once and logs once, under the id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:  # a streamed body failed half-way: nothing can be said to the client any more
                raise
            response = error_response(Request(scope), exc)
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    """Every error the app can raise goes through `error_response`."""

    async def handle(request: Request, exc: Exception) -> Response:
        return error_response(request, exc)

    # FastAPI answers these itself (English, validation as a list) unless told otherwise.
    app.add_exception_handler(StarletteHTTPException, handle)
    app.add_exception_handler(RequestValidationError, handle)
    app.add_exception_handler(LoginRequired, handle)
    app.add_middleware(CatchAll)
