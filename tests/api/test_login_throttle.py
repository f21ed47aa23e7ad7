"""Issue 16: failed logins hold one account at one address (a station behind one NAT address is not locked out),
the login page says so in Chinese, an administrator unlocks the account (API and `bilu users unlock`), audited."""
import pytest
from click.testing import CliRunner

from api.cli import cli
from cases import Store
from engine.settings import Settings
from tests.api.helpers import PASSWORD, bearer, client_for


@pytest.fixture
def settings(tmp_path, backend):
    settings = Settings(home=tmp_path / "home", login_max_failures=5, database_url=backend.url)
    with backend.open(settings.home) as store:
        for name, role in (("li", "officer"), ("wang", "officer"), ("admin", "admin")):
            store.add_user(name, role=role, unit="默认单位", password=PASSWORD)
    return settings


@pytest.fixture
def client(settings):
    with client_for(settings) as client:
        yield client


def fail_five_times(client, name="li"):
    answers = [client.post("/auth/login", json={"name": name, "password": "wrong-pass"}) for _ in range(5)]
    assert [a.status_code for a in answers] == [401] * 5
    assert "30 秒后再试" in answers[-1].json()["detail"]  # the failure that starts the wait says so


def test_one_officers_failures_do_not_lock_out_the_station(client):
    fail_five_times(client)
    held = client.post("/auth/login", json={"name": "li", "password": PASSWORD})  # even the right password
    assert held.status_code == 429 and 1 <= int(held.headers["retry-after"]) <= 30
    assert "该账号在本机连续登录失败次数过多" in held.json()["detail"]
    # every request of the TestClient comes from one address: a colleague there logs in as usual
    assert client.post("/auth/login", json={"name": "wang", "password": PASSWORD}).status_code == 200


def test_the_login_form_shows_the_wait_in_chinese(client):
    page = client.get("/login")
    assert "连续输错密码 5 次后，需等待 30 秒再试" in page.text
    fail_five_times(client)
    form = client.post("/auth/login", data={"name": "li", "password": PASSWORD, "next": "/"},
                       follow_redirects=False)
    assert form.status_code == 429 and form.headers["content-type"].startswith("text/html")
    assert "秒后再试" in form.text and "其他电脑登录不受影响" in form.text
    assert '"detail"' not in form.text  # a page, not the bare JSON of before


def test_an_administrator_unlocks_the_account_audited(client, settings):
    admin = bearer(client, "admin")
    fail_five_times(client)
    assert client.get("/users/login-locks", headers=admin).json()[0]["name"] == "li"
    wang = bearer(client, "wang")
    assert client.post("/users/li/unlock", headers=wang).status_code == 403  # only an administrator
    assert client.post("/users/nobody/unlock", headers=admin).status_code == 404
    unlocked = client.post("/users/li/unlock", headers=admin)
    assert unlocked.status_code == 200 and unlocked.json()["counts_cleared"] >= 1
    assert client.post("/auth/login", json={"name": "li", "password": PASSWORD}).status_code == 200
    with Store.open(settings.home, database_url=settings.database_url) as store:
        rows = store.audit_rows()
    assert [r["detail"] for r in rows if r["action"] == "user.unlocked" and r["user"] == "admin"] == [
        {"user": "li", "counts_cleared": unlocked.json()["counts_cleared"]}]
    assert sum(r["action"] == "auth.login_failed" for r in rows) == 5
    assert any(r["action"] == "auth.login_throttled" for r in rows)


def test_bilu_users_unlock_reaches_the_running_service(client, settings):
    fail_five_times(client)
    env = {"BILU_HOME": str(settings.home), "BILU_DATABASE_URL": settings.database_url}
    run = CliRunner().invoke(cli, ["users", "unlock", "li"], env=env, catch_exceptions=False)
    assert run.exit_code == 0 and "li may log in again" in run.output
    assert client.post("/auth/login", json={"name": "li", "password": PASSWORD}).status_code == 200
    unknown = CliRunner().invoke(cli, ["users", "unlock", "nobody"], env=env, catch_exceptions=False)
    assert unknown.exit_code == 2 and "nobody" in unknown.output
