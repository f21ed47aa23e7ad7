"""The guardrails through the store, the API, the pages and the command line: what the case records (PUT
/cases/{c}/procedure, bilu procedure), the verdicts (GET /sessions/{id}/guardrails, bilu guardrails, the session
page), the minor condition applied by itself, and the search filter guardrail=. Real SQLite; sessions stored
through the store."""
import json
import time
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner

from api.cli import cli
from cases import Store
from engine.checking import check_session
from engine.settings import Settings
from tests.api.helpers import PASSWORD, bearer, client_for, stored_session

LINES = [(0.0, 4.0, "S1", "我们是公安局的民警，现在依法对你进行讯问"), (5.0, 8.0, "S2", "好的"),
         (9.0, 12.0, "S3", "我是记录人")]
ROLES = {"S1": "讯问人", "S2": "被讯问人", "S3": "记录人"}


def bilu(home, *args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"BILU_HOME": str(home)}, catch_exceptions=False)


@pytest.fixture
def world(tmp_path):
    settings = Settings(home=tmp_path / "home")
    with Store.open(settings.home) as store:
        store.add_user("zhang", role="officer", unit="默认单位", password=PASSWORD)
        store.add_user("li", role="recorder", unit="默认单位", password=PASSWORD)
        store.add_user("wang", role="officer", unit="默认单位", password=PASSWORD)
        ids = {
            "clean": stored_session(store, "G-1", LINES, roles=ROLES, room="一号讯问室"),
            "minor": stored_session(store, "G-2", LINES, roles=ROLES, room="二号讯问室"),
            "other_room": stored_session(store, "G-3", LINES, roles=ROLES, room="三号讯问室"),
        }
        store.set_session_officers(ids["clean"], ["zhang", "li"])
        store.set_session_officers(ids["minor"], ["wang"])
        store.set_session_officers(ids["other_room"], ["zhang"])
    return settings, ids


def _statuses(findings):
    return {f["key"]: f["status"] for f in findings}


def test_the_api_records_the_procedure_and_judges_the_session(world):
    settings, ids = world
    fifteen = (date.today() - timedelta(days=365 * 15)).isoformat()
    with client_for(settings) as client:
        client.headers.update(bearer(client, "zhang"))
        put = client.put("/cases/G-2/procedure", json={"birth_date": fifteen, "summons_kind": "传唤",
                                                       "summons_at": (datetime.now() - timedelta(hours=1))
                                                       .replace(microsecond=0).isoformat()})
        assert put.status_code == 200, put.text
        assert put.json()["birth_date"] == fifteen and put.json()["summons_kind"] == "传唤"
        bad = client.put("/cases/G-2/procedure", json={"birth_date": "昨天"})
        assert bad.status_code in (400, 422) and "birth_date" in bad.text
        judged = client.get(f"/sessions/{ids['minor']}/guardrails")
        assert judged.status_code == 200
        statuses = _statuses(judged.json())
        assert statuses["minor_guardian"] == "violated" and statuses["summons_duration"] == "ok"
        assert all(f["basis"] for f in judged.json())
        page = client.get(f"/sessions/{ids['minor']}/page")
        assert "讯问规范" in page.text and "刑事诉讼法 第281条" in page.text


def test_a_minor_gets_the_minor_condition_by_itself(world):
    settings, ids = world
    with Store.open(settings.home) as store:
        store.set_case_procedure("G-2", {"birth_date": (date.today() - timedelta(days=365 * 16)).isoformat()})
        findings = check_session(store, ids["minor"], settings)
        assert "minor" in store.get_session(ids["minor"])["conditions"]
        assert "guardian_present" in {f.rule_key for f in findings}
        assert _statuses(store.guardrail_findings(ids["minor"]))["minor_guardian"] == "violated"
        check_session(store, ids["clean"], settings)  # an adult's case is left as it was
        assert "minor" not in store.get_session(ids["clean"])["conditions"]


def test_one_officer_in_two_rooms_at_once_and_the_search_filter(world):
    settings, ids = world
    with Store.open(settings.home) as store:
        for session_id in ids.values():
            check_session(store, session_id, settings)
        verdicts = {name: _statuses(store.guardrail_findings(session_id)) for name, session_id in ids.items()}
    assert verdicts["clean"]["officer_overlap"] == "violated"  # zhang was in 三号讯问室 at the same time
    assert verdicts["other_room"]["officer_overlap"] == "violated"
    assert verdicts["minor"]["two_officers"] == "ok"  # one set, but 讯问人 and 记录人 heard
    with client_for(settings) as client:
        client.headers.update(bearer(client, "zhang"))
        found = client.get("/search/sessions", params={"guardrail": "officer_overlap"}).json()
        assert sorted(s["session_id"] for s in found) == sorted([ids["clean"], ids["other_room"]])
        assert all(any(v["key"] == "officer_overlap" for v in s["violated"]) for s in found)
        page = client.get("/search/page", params={"guardrail": "officer_overlap"})
        assert page.status_code == 200 and f"会话 {ids['clean']}" in page.text and f"会话 {ids['minor']}" not in page.text


def test_an_outage_breaks_the_recording_continuity(world):
    settings, ids = world
    with Store.open(settings.home) as store:
        start = datetime.fromisoformat(store.get_session(ids["clean"])["created_at"]).timestamp()
        store.add_outage(ids["clean"], from_epoch_s=start + 2, to_epoch_s=start + 40)
        check_session(store, ids["clean"], settings)
        continuity = next(f for f in store.guardrail_findings(ids["clean"]) if f["key"] == "recording_continuity")
    assert continuity["status"] == "violated" and "连接中断" in continuity["detail"]
    assert 1.0 <= continuity["at_s"] <= 3.0


def test_the_command_line(world):
    settings, ids = world
    shown = bilu(settings.home, "procedure", "G-1", "--detained-at", "2020-01-01T08:00", "--interpreter", "李译")
    assert shown.exit_code == 0, shown.output
    assert "interpreter\t李译" in shown.stdout and "detained_at\t2020-01-01T08:00:00" in shown.stdout
    judged = bilu(settings.home, "guardrails", ids["clean"], "--json")
    assert judged.exit_code == 1  # the interpreter named is never heard; detained in 2020, first questioned now
    statuses = _statuses(json.loads(judged.stdout))
    assert statuses["interpreter"] == "violated" and statuses["first_questioning"] == "violated"
    bad = bilu(settings.home, "procedure", "G-1", "--birth-date", "2099-01-01")
    assert bad.exit_code == 2 and "birth_date" in bad.stderr
    unknown = bilu(settings.home, "guardrails", 999999)
    assert unknown.exit_code == 2
