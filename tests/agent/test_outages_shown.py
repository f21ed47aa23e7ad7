"""A session's outages (a room agent's link down) in GET /sessions/{id} and on the session page."""
import time

from cases import Store
from engine.settings import Settings
from tests.api.helpers import PASSWORD, bearer, client_for, stored_session


def test_outages_are_in_the_session_and_on_its_page(tmp_path):
    settings = Settings(home=tmp_path / "home")
    with Store.open(settings.home) as store:
        store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
        session_id = stored_session(store, "O-1", [(0.0, 2.0, "S1", "你好")])
        now = time.time()
        store.add_outage(session_id, from_epoch_s=now - 42, to_epoch_s=now)
        quiet = stored_session(store, "O-2", [(0.0, 2.0, "S1", "你好")])
    with client_for(settings) as client:
        headers = bearer(client, "officer")
        outages = client.get(f"/sessions/{session_id}", headers=headers).json()["outages"]
        assert len(outages) == 1 and round(outages[0]["seconds"]) == 42
        assert client.get(f"/sessions/{quiet}", headers=headers).json()["outages"] == []
        page = client.get(f"/sessions/{session_id}/page", headers=headers).text
        assert "审讯室终端连接中断 1 次" in page and "42 秒" in page
        assert "审讯室终端连接中断" not in client.get(f"/sessions/{quiet}/page", headers=headers).text


def test_a_session_finished_without_its_agent_says_so_on_its_page(tmp_path):
    from engine.abandoned import ABANDONED_ERROR

    settings = Settings(home=tmp_path / "home")
    with Store.open(settings.home) as store:
        store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
        session_id = stored_session(store, "O-3", [(0.0, 2.0, "S1", "你好")])
        store.finish_session(session_id, status="interrupted", error=f"{ABANDONED_ERROR}: given up after 600 s")
    with client_for(settings) as client:
        page = client.get(f"/sessions/{session_id}/page", headers=bearer(client, "officer")).text
    assert "审讯室终端失联" in page and "录音设备中断" not in page
