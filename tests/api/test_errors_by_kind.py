"""Errors by kind (error_kinds): bad input → 4xx / exit 2; configuration or environment → 503 / exit 1 naming what
to fix; a bug → 500 / exit 1 with an id the user sees and the log holds. API errors are JSON with a stable code and
a Chinese detail; pages get a Chinese HTML page with a way back. Real app, real SQLite, real `bilu` processes."""
import logging
import os
import re
import subprocess
import sys

import pytest

from cases import Store
from engine.settings import Settings
from error_kinds import BadInput, Kind, NotFound, Unavailable, kind_of
from tests.api.helpers import PASSWORD, bearer, client_for, stored_session
from tests.capture.conftest import pulse  # noqa: F401  (a real PulseAudio microphone for the room route)

CJK = re.compile(r"[\u4e00-\u9fff]")
CASE = "K-2026-0001"


@pytest.fixture
def home(tmp_path):
    settings = Settings(home=tmp_path / "home")
    with Store.open(settings.home) as store:
        store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
        session_id = stored_session(store, CASE, [(0.0, 2.0, "S1", "你是否申请回避"), (2.5, 4.0, "S2", "不申请")])
    return settings, session_id


def page_login(client) -> None:
    response = client.post("/auth/login", json={"name": "officer", "password": PASSWORD})
    assert response.status_code == 200, response.text


def bilu(home, *args, env=None, code: str | None = None) -> subprocess.CompletedProcess:
    """`bilu ARGS` as a real process (`code`: Python to run first in it, e.g. to inject a bug)."""
    program = f"{code or ''}\nfrom api.cli import main\nmain()"
    return subprocess.run([sys.executable, "-c", program, *map(str, args)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "BILU_HOME": str(home), **(env or {})})


# --- every error class names its kind and a code with a Chinese message -------------------------------------------

def test_every_error_class_has_a_kind_a_code_and_a_chinese_message():
    import importlib
    import pkgutil

    from api.errors_http import MESSAGES_ZH
    from tests.test_layers import LAYERS

    # Every module of every package, so that no error class hides in one this test's process has not imported.
    for package in LAYERS:
        for module in pkgutil.walk_packages(importlib.import_module(package).__path__, f"{package}."):
            if not module.name.endswith("__main__"):
                importlib.import_module(module.name)

    def subclasses(root):
        for sub in root.__subclasses__():
            yield sub
            yield from subclasses(sub)

    classes = {c for root in (BadInput, Unavailable) for c in subclasses(root)}
    assert len(classes) > 30
    missing = sorted(f"{c.__module__}.{c.__name__}: {c.code}" for c in classes if c.code not in MESSAGES_ZH)
    assert not missing, missing
    assert all(CJK.search(MESSAGES_ZH[c.code]) for c in classes)
    # Not a ValueError any more: a missing model or a broken pyannote folder is the machine's fault.
    from capture import CaptureArgumentError, CaptureError, RecordingError
    from diarize import DiarizationError, DiarizerUnavailable
    from transcribe import ModelError
    assert not issubclass(ModelError, ValueError)
    assert kind_of(ModelError("x")) is kind_of(CaptureError("x")) is kind_of(RecordingError("x")) is Kind.UNAVAILABLE
    assert kind_of(DiarizerUnavailable("x")) is Kind.UNAVAILABLE and kind_of(DiarizationError("x")) is Kind.BAD_INPUT
    assert kind_of(CaptureArgumentError("x")) is Kind.BAD_INPUT
    assert kind_of(OSError(28, "No space left on device")) is Kind.UNAVAILABLE
    assert kind_of(KeyError("x")) is kind_of(ValueError("x")) is Kind.BUG
    from cases import SessionNotFound
    assert issubclass(SessionNotFound, NotFound)


# --- HTTP ----------------------------------------------------------------------------------------------------------

def test_bad_input_is_4xx_json_with_a_stable_code_and_a_chinese_detail(home, tmp_path):
    settings, _ = home
    with client_for(settings) as client:
        headers = bearer(client, "officer")
        missing = client.get("/sessions/424242", headers=headers)
        assert missing.status_code == 404
        body = missing.json()
        assert body["code"] == "session_not_found" and CJK.search(body["detail"]) and "424242" in body["detail"]

        not_a_number = client.get("/sessions/abc", headers=headers)
        assert not_a_number.status_code == 422
        body = not_a_number.json()
        assert body["code"] == "invalid_request" and isinstance(body["detail"], str)
        assert "应为整数" in body["detail"] and "abc" in body["detail"]

        notes = tmp_path / "notes.wav"
        notes.write_text("会议记录：这不是录音。", encoding="utf-8")
        with open(notes, "rb") as file:
            upload = client.post(f"/cases/{CASE}/recordings", headers=headers,
                                 files={"file": ("notes.wav", file, "application/octet-stream")})
        assert upload.status_code == 422
        body = upload.json()
        assert body["code"] == "audio_unreadable" and body["detail"].startswith("notes.wav：不是可识别格式的录音文件")
        assert "not a recording" in body["detail"]  # the particulars stay, as the decoder wrote them


def test_a_missing_model_folder_is_503_naming_what_to_fix(home, tmp_path, pulse):  # noqa: F811
    settings, _ = home
    empty = tmp_path / "no-model-here"
    empty.mkdir()
    broken = Settings(home=settings.home, asr_model=str(empty))
    with client_for(broken) as client:
        headers = bearer(client, "officer")
        started = client.post("/rooms/一号室/sessions", headers=headers,
                              json={"case_no": "K-2", "device": "vmic_mono", "duration_s": 5})
        assert started.status_code == 503, started.text
        body = started.json()
        assert body["code"] == "asr_model_unavailable"
        assert "BILU_ASR_MODEL" in body["detail"] and str(empty) in body["detail"] and "model.bin" in body["detail"]
        assert client.get("/cases/K-2", headers=headers).status_code == 404  # nothing left behind
        # A device name that names nothing is the request's fault: 422, in Chinese, naming it.
        unknown = client.post("/rooms/一号室/sessions", headers=headers,
                              json={"case_no": "K-2", "device": "no-such-microphone"})
        assert unknown.status_code == 422, unknown.text
        assert unknown.json()["code"] == "capture_setting_invalid"
        assert unknown.json()["detail"].startswith("没有名为 'no-such-microphone' 的录音输入设备")


def test_a_bug_is_500_with_an_id_the_log_holds_and_the_page_shows(home, monkeypatch, caplog):
    settings, _ = home

    def broken(*args, **kwargs):
        raise RuntimeError("an injected bug")

    monkeypatch.setattr(Store, "cases_in_scope", broken)
    with client_for(settings) as client, caplog.at_level(logging.ERROR, logger="api.errors_http"):
        headers = bearer(client, "officer")
        response = client.get("/cases", headers=headers)
        assert response.status_code == 500
        body = response.json()
        assert body["code"] == "internal_error" and body["error_id"] in body["detail"] and CJK.search(body["detail"])
        assert "injected bug" not in response.text  # internals are for the log, not the user
        logged = [r for r in caplog.records if body["error_id"] in r.getMessage()]
        assert logged and "an injected bug" in str(logged[0].exc_info[1])

        page_login(client)
        page = client.get("/")
        assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
        error_id = re.search(r'class="error-id">([0-9a-f]+)<', page.text).group(1)
        assert any(error_id in r.getMessage() for r in caplog.records)
        assert "返回案件列表" in page.text


def test_page_errors_are_chinese_html_with_a_way_back(home):
    settings, session_id = home
    with client_for(settings) as client:
        page_login(client)
        for path, status, words in [("/sessions/abc/page", 422, "应为整数"),
                                    ("/sessions/424242/page", 404, "找不到该次讯问笔录"),
                                    ("/cases/NO-SUCH/page", 404, "找不到该案件"),
                                    ("/no/such/page", 404, "找不到")]:
            referer = f"https://testserver/sessions/{session_id}/page"
            response = client.get(path, headers={"Referer": referer})
            assert response.status_code == status, path
            assert response.headers["content-type"].startswith("text/html"), path
            assert words in response.text and 'lang="zh-CN"' in response.text, path
            assert f'href="{referer}"' in response.text and 'href="/"' in response.text, path
            assert '"detail"' not in response.text and "Not Found" not in response.text, path
        # The search form answers its own input errors on the page, in Chinese.
        for query, words in [({"q": "！！"}, "检索词中只有标点或符号"), ({"date_from": "abc"}, "不是日期")]:
            search = client.get("/search/page", params=query)
            assert search.status_code == 200 and f"无法检索：" in search.text and words in search.text, query
            assert "search query" not in search.text and "not a date" not in search.text, query


# --- the command line ------------------------------------------------------------------------------------------------

def test_cli_bad_input_exits_2(home, tmp_path):
    settings, _ = home
    result = bilu(settings.home, "export", "424242")
    assert result.returncode == 2, result.stderr
    assert "no session with id 424242" in result.stderr and "Traceback" not in result.stderr


def test_cli_missing_model_folder_exits_1_naming_what_to_fix(home, tmp_path, data_dir):
    settings, _ = home
    empty = tmp_path / "no-model-here"
    empty.mkdir()
    result = bilu(settings.home, "transcribe", data_dir / "wenet_nst_ID001.wav", "--case", "K-3",
                  env={"BILU_ASR_MODEL": str(empty)})
    assert result.returncode == 1, result.stderr
    assert str(empty) in result.stderr and "model.bin" in result.stderr
    assert "configuration must be fixed" in result.stderr and "Traceback" not in result.stderr


def test_cli_invalid_setting_exits_1_naming_it(home):
    settings, _ = home
    result = bilu(settings.home, "cases", env={"BILU_PORT": "not-a-port"})
    assert result.returncode == 1, result.stderr
    assert "BILU_PORT" in result.stderr and "Traceback" not in result.stderr


def test_cli_bug_exits_1_with_an_id_logged_with_its_traceback(home):
    settings, _ = home
    inject = "import cases\ncases.Store.list_cases = lambda self: {}['an injected bug']"
    result = bilu(settings.home, "cases", code=inject)
    assert result.returncode == 1, result.stderr
    error_id = re.search(r"internal error ([0-9a-f]{8})", result.stderr).group(1)
    logged = result.stderr[:result.stderr.index("bilu: internal error")]
    assert f"error {error_id}" in logged and "Traceback" in logged and "an injected bug" in logged
