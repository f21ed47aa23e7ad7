"""Service nodes behind one address: a login made on one node works on another that shares BILU_HOME (the login
session is in the store, the cookie and the CSRF token are signed with the key in BILU_HOME/secret_key)."""
import threading

from fastapi.testclient import TestClient

from api.app import create_app
from api.security import load_secret_key
from cases import Store
from engine.settings import Settings
from tests.api.helpers import PASSWORD


def test_a_login_on_one_node_is_good_on_another(tmp_path):
    settings = Settings(home=tmp_path / "home")
    with Store.open(settings.home) as store:
        store.add_unit("市局", level="city")
        store.add_user("li", role="supervisor", unit="市局", password=PASSWORD)
    with TestClient(create_app(settings), base_url="https://testserver") as first, \
            TestClient(create_app(settings), base_url="https://testserver") as second:
        csrf = first.post("/auth/login", json={"name": "li", "password": PASSWORD}).json()["csrf_token"]
        second.cookies.update(first.cookies)
        me = second.get("/auth/me").json()
        assert me["user"]["name"] == "li" and me["csrf_token"] == csrf
        # A change through the other node: its CSRF token is the one the first node gave at login.
        assert second.post("/auth/tokens", json={"label": "x"}, headers={"X-CSRF-Token": csrf}).status_code == 200
        assert second.post("/auth/tokens", json={"label": "x"}, headers={"X-CSRF-Token": "0" * 64}).status_code == 403
        assert second.post("/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        first.cookies.update(second.cookies)
        assert first.get("/auth/me").status_code == 401  # logged out everywhere: the session is in the store


def test_nodes_starting_together_share_one_signing_key(tmp_path):
    settings = Settings(home=tmp_path / "home")
    keys: list[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(load_secret_key(settings))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1 and len(keys[0]) == 64
    assert [p.name for p in settings.home.iterdir()] == ["secret_key"]  # no draft left behind
