"""Issue 16: a case opened from the web (number, title, the officer's unit) or filed by `bilu transcribe --unit`
is seen at once by the officers of its unit, with its title; who may open a case where."""
import sqlite3

import pytest
from click.testing import CliRunner

from api.cli import cli
from cases import Store
from engine.settings import Settings
from tests.api.helpers import PASSWORD, bearer, client_for


@pytest.fixture
def settings(tmp_path):
    settings = Settings(home=tmp_path / "home")
    with Store.open(settings.home) as store:
        store.add_unit("市局", level="city")
        store.add_unit("中心", level="centre", parent="市局")
        store.add_unit("城关派出所", level="unit", parent="中心")
        store.add_unit("东关派出所", level="unit", parent="中心")
        for name, role, unit in (("li", "officer", "城关派出所"), ("zhao", "officer", "城关派出所"),
                                 ("dong", "officer", "东关派出所"), ("boss", "supervisor", "中心"),
                                 ("jian", "prosecutor", "市局"), ("admin", "admin", "默认单位")):
            store.add_user(name, role=role, unit=unit, password=PASSWORD)
    return settings


@pytest.fixture
def client(settings):
    with client_for(settings) as client:
        yield client


def test_an_officer_opens_a_case_in_their_unit_and_colleagues_see_its_title(client, settings):
    li = bearer(client, "li")
    opened = client.post("/cases", json={"case_no": "A-2026-7", "title": "张某盗窃案"}, headers=li)
    assert opened.status_code == 201, opened.text
    assert opened.json()["unit"] == "城关派出所" and opened.json()["title"] == "张某盗窃案"
    seen = {c["case_no"]: c for c in client.get("/cases", headers=bearer(client, "zhao")).json()}
    assert seen["A-2026-7"]["title"] == "张某盗窃案"
    assert "A-2026-7" not in {c["case_no"] for c in client.get("/cases", headers=bearer(client, "dong")).json()}
    assert client.post("/cases", json={"case_no": "A-2026-7"}, headers=li).status_code == 409
    with Store.open(settings.home) as store:
        entry = [r for r in store.audit_rows() if r["action"] == "case.opened"]
    assert [(e["user"], e["case_no"], e["detail"]["unit"]) for e in entry] == [("li", "A-2026-7", "城关派出所")]
    assert "张某" not in entry[0]["content"]  # the title may name people: not in the audit entry


def test_who_may_open_a_case_where(client):
    li, boss = bearer(client, "li"), bearer(client, "boss")
    assert client.post("/cases", json={"case_no": "X-1", "unit": "东关派出所"}, headers=li).status_code == 403
    assert client.post("/cases", json={"case_no": "X-2", "unit": "东关派出所"}, headers=boss).status_code == 201
    assert client.post("/cases", json={"case_no": "X-3", "unit": "市局"}, headers=boss).status_code == 403
    refused = client.post("/cases", json={"case_no": "X-4"}, headers=bearer(client, "jian"))
    assert refused.status_code == 403 and "只读" in refused.json()["detail"]
    assert client.post("/cases", json={"case_no": "a/b"}, headers=li).status_code == 422
    assert client.post("/cases", json={"case_no": "X-5", "title": "x" * 201}, headers=li).status_code == 422


def test_a_title_is_given_later_by_an_officer_of_the_unit(client):
    li = bearer(client, "li")
    client.post("/cases", json={"case_no": "T-1"}, headers=li)
    assert client.get("/cases/T-1", headers=li).json()["title"] is None
    assert client.patch("/cases/T-1", json={"title": "李某诈骗案"}, headers=li).json()["title"] == "李某诈骗案"
    assert client.patch("/cases/T-1", json={"title": "x"}, headers=bearer(client, "dong")).status_code == 404


def bilu(home, *args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"BILU_HOME": str(home)}, catch_exceptions=False)


def case_rows(home):
    with sqlite3.connect(home / "bilu.db") as conn:
        return conn.execute("SELECT c.case_no, c.title, n.name FROM cases c JOIN units n ON n.id = c.unit_id"
                            " ORDER BY c.case_no").fetchall()


def test_transcribe_files_a_new_case_under_the_given_unit(settings, data_dir, client):
    home = settings.home
    result = bilu(home, "transcribe", data_dir / "aishell1_BAC009S0724W0121.wav", "--case", "C-1", "--speakers", "1",
                  "--unit", "城关派出所", "--title", "王某抢劫案")
    assert result.exit_code == 0, result.output
    assert case_rows(home) == [("C-1", "王某抢劫案", "城关派出所")]
    assert "C-1" in {c["case_no"] for c in client.get("/cases", headers=bearer(client, "li")).json()}
    # an existing case keeps its unit: naming another is refused before anything is transcribed
    moved = bilu(home, "transcribe", data_dir / "aishell1_BAC009S0724W0121.wav", "--case", "C-1", "--unit", "东关派出所")
    assert moved.exit_code == 2 and "assign-case" in moved.output


def test_transcribe_refusals_leave_no_case_behind(settings, tmp_path):
    home = settings.home
    unknown = bilu(home, "transcribe", __file__, "--case", "C-2", "--unit", "没有的单位")
    assert unknown.exit_code == 2 and "没有的单位" in unknown.output
    not_audio = tmp_path / "notes.wav"
    not_audio.write_bytes(b"this is not a recording" * 100)
    refused = bilu(home, "transcribe", not_audio, "--case", "C-3", "--unit", "城关派出所")
    assert refused.exit_code == 2
    assert case_rows(home) == []
    default = bilu(home, "transcribe", not_audio, "--case", "C-4")
    assert default.exit_code == 2 and "默认单位" in default.output  # the warning says where it would have gone
