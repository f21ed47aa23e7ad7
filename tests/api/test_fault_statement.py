"""The 相关说明 of a recording's faults: drafted from the session's gaps (a room agent's outage here), completed with
the officers' note, signed like the 讯问笔录 and carried, with its signatures, in the sealed export package."""
import json
import zipfile
from datetime import datetime

from click.testing import CliRunner

from api.cli import cli
from cases import Store
from engine.settings import Settings
from tests.api.helpers import PASSWORD, bearer, client_for, stored_session

LINES = [(0.0, 3.0, "S1", "你把当时的情况说一下"), (3.5, 6.0, "S2", "那天我在家里")]
STROKES = {"width": 60, "height": 30, "strokes": [[{"x": 5, "y": 5}, {"x": 50, "y": 20}]]}


def test_a_gap_gets_a_drafted_statement_that_is_completed_signed_and_packaged(tmp_path):
    settings = Settings(home=tmp_path / "home")
    with Store.open(settings.home) as store:
        store.add_user("zhang", role="officer", unit="默认单位", password=PASSWORD)
        gapped = stored_session(store, "F-1", LINES)
        clean = stored_session(store, "F-1", LINES, room="二号讯问室")
        store.set_session_officers(gapped, ["zhang"])
        start = datetime.fromisoformat(store.get_session(gapped)["created_at"]).timestamp()
        store.add_outage(gapped, from_epoch_s=start + 65, to_epoch_s=start + 125)
    with client_for(settings) as client:
        client.headers.update(bearer(client, "zhang"))
        assert client.get(f"/sessions/{clean}/fault-statement").json()["needed"] is False
        draft = client.get(f"/sessions/{gapped}/fault-statement").json()
        assert draft["needed"] and draft["review"]["state"] is None
        gap = next(line for line in draft["lines"] if line.startswith("中断 1："))
        assert "约 60 秒" in gap and "连接中断" in gap
        assert any(line.startswith("录音录像开始时间：") for line in draft["lines"])
        assert "在场办案人员：zhang" in draft["lines"]
        started = client.post(f"/sessions/{gapped}/record-review", params={"document": "fault_statement"},
                              json={"note": "网络故障，审讯室终端本地录音未中断，已补传"})
        assert started.status_code == 200 and started.json()["document"] == "fault_statement"
        assert client.get(f"/sessions/{gapped}/record-review").json()["state"] is None  # the 笔录 is apart
        for role, name in (("讯问人", "张警官"), ("记录人", "李记录")):
            signed = client.post(f"/sessions/{gapped}/signatures", params={"document": "fault_statement"},
                                 json={"signer_role": role, "signer_name": name, **STROKES})
            assert signed.status_code == 201, signed.text
        closed = client.post(f"/sessions/{gapped}/record-review/close", params={"document": "fault_statement"},
                             json={"outcome": "refused", "reason": "被讯问人拒绝在说明上签名", "witnesses": ["赵某"]})
        assert closed.status_code == 200 and closed.json()["locked"]
        text = client.get(f"/sessions/{gapped}/fault-statement").json()["text"]
        assert "补充说明：网络故障" in text and "讯问人（签名）：张警官" in text and "拒绝签名原因" in text
        sign_page = client.get(f"/sessions/{gapped}/sign/page", params={"document": "fault_statement"})
        assert sign_page.status_code == 200 and "中断 1：" in sign_page.text
    out = tmp_path / "gapped.zip"
    made = CliRunner().invoke(cli, ["export", str(gapped), "--format", "package", "-o", str(out)],
                              env={"BILU_HOME": str(settings.home)})
    assert made.exit_code == 0, made.output
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        statement = archive.read("fault_statement.txt").decode("utf-8")
        packaged = json.loads(archive.read("fault_statement.json"))
    assert "中断 1：" in statement and "记录人（签名）：李记录" in statement
    assert len(packaged["review"]["signatures"]) == 2
    assert sum(name.startswith("signatures/") for name in names) == 4  # strokes and PNG of each signature
    verified = CliRunner().invoke(cli, ["verify", "--package", str(out)], env={"BILU_HOME": str(tmp_path / "x")})
    assert verified.exit_code == 0, verified.output
