"""The people of a case through the API: added, listed, and refused with a reason when malformed."""
from tests.api.helpers import PASSWORD, bearer, client_for, stored_session


def test_people_of_a_case(tmp_path, backend):
    from engine.settings import Settings

    settings = Settings(home=tmp_path / "home", database_url=backend.url)
    with backend.open(settings.home) as store:
        store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
        stored_session(store, "P-1", [(0.0, 2.0, "S1", "你叫什么名字")])
        store.set_case_unit("P-1", "默认单位")
    with client_for(settings) as client:
        headers = bearer(client, "officer")
        added = client.post("/cases/P-1/people", headers=headers,
                            json={"name": "王某", "role": "犯罪嫌疑人", "id_number": "11010519900307123X",
                                  "wristband_id": "WB-0042"})
        assert added.status_code == 201
        client.post("/cases/P-1/people", headers=headers, json={"name": "李某", "role": "法定代理人"})
        people = client.get("/cases/P-1/people", headers=headers).json()
        assert [(p["name"], p["role"], p["wristband_id"]) for p in people] == [
            ("王某", "犯罪嫌疑人", "WB-0042"), ("李某", "法定代理人", None)]
        bad_role = client.post("/cases/P-1/people", headers=headers, json={"name": "赵某", "role": "法官"})
        assert bad_role.status_code == 422 and "犯罪嫌疑人" in bad_role.json()["detail"]
        bad_id = client.post("/cases/P-1/people", headers=headers,
                             json={"name": "赵某", "role": "证人", "id_number": "1101051990030712AB"})
        assert bad_id.status_code == 422 and "identity number" in bad_id.json()["detail"]
        assert client.get("/cases/NO-SUCH/people", headers=headers).status_code == 404
        assert len(client.get("/cases/P-1/people", headers=headers).json()) == 2  # the refused ones left nothing
