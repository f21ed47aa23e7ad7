"""The sealed export package (`bilu export ID --format package`, GET /sessions/{id}/export?format=package) and
`bilu verify --package`, which checks it in another folder with no database. A session the real pipeline
transcribed from real audio; tampering works on copies of the ZIP."""
import hashlib
import json
import zipfile

import pytest
from click.testing import CliRunner

from api.cli import cli
from cases import Store
from tests.api.helpers import PASSWORD, bearer, client_for

# The outcome rests on a mechanism (what is sealed and checked, when an alert comes), not on the model's words.
pytestmark = pytest.mark.mechanism


def bilu(home, *args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"BILU_HOME": str(home)}, catch_exceptions=False)


@pytest.fixture(scope="module")
def transcribed(tmp_path_factory, data_dir, whisper_model):
    from engine.pipeline import FileRequest, Pipeline
    from engine.settings import Settings

    settings = Settings(home=tmp_path_factory.mktemp("home"))
    with Store.open(settings.home) as store:
        result = Pipeline(settings, model=whisper_model).transcribe_file(
            store, FileRequest(path=data_dir / "aishell1_BAC009S0724W0121.wav", case_no="A-2026-0020",
                               room="一号讯问室", num_speakers=1, seat_roles=("被讯问人",)))
    return settings, result.session_id


@pytest.fixture(scope="module")
def package(transcribed, tmp_path_factory):
    settings, session_id = transcribed
    out = tmp_path_factory.mktemp("out") / "session.zip"
    result = bilu(settings.home, "export", session_id, "--format", "package", "-o", out)
    assert result.exit_code == 0, result.output
    return out


def _fresh(tmp_path):
    """Another machine: an empty home, and the package alone in a folder of its own."""
    home = tmp_path / "elsewhere-home"
    home.mkdir()
    return home


def _rewrite(source, target, *, change=None, drop=None, replace=None):
    """Copy the ZIP member by member: `change` flips one byte of that member, `drop` leaves it out, `replace`
    {name: bytes} puts other bytes in."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename == drop:
                continue
            data = old.read(info.filename)
            if info.filename == change:
                data = data[:40] + bytes([data[40] ^ 0x01]) + data[41:]
            if replace and info.filename in replace:
                data = replace[info.filename]
            new.writestr(info, data)
    return target


def test_the_package_holds_the_session_and_verifies_in_a_fresh_folder(transcribed, package, tmp_path):
    settings, session_id = transcribed
    moved = tmp_path / "handed-over" / "package.zip"
    moved.parent.mkdir()
    moved.write_bytes(package.read_bytes())
    home = _fresh(tmp_path)
    result = bilu(home, "verify", "--package", moved)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"intact: session {session_id} (case A-2026-0020)")
    assert not (home / "bilu.db").exists()  # checked without any database
    with zipfile.ZipFile(moved) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        audit = json.loads(archive.read("audit.json"))
        audio = [name for name in names if name.startswith("audio/")]
        with Store.open(settings.home) as store:
            stored = store.get_session(session_id)
        assert len(audio) == 1 and hashlib.sha256(archive.read(audio[0])).hexdigest() == stored["audio_sha256"]
    assert {"transcript.json", "record.txt", "record.docx", "findings.json", "audit.json"} <= names
    assert set(manifest["members"]) == names - {"manifest.json"}
    actions = [json.loads(entry["content"])["action"] for entry in audit["entries"]]
    assert actions[0] == "session.created" and actions[-1] == "session.package" and "session.export" in actions
    assert manifest["chain_head"] == audit["links"][-1]["hash"]
    with Store.open(settings.home) as store:  # the head is the service's own chain at the seal
        seal = [row for row in store.audit_rows(session_id=session_id) if row["id"] == manifest["seal_entry"]]
    assert seal and seal[0]["hash"] == manifest["chain_head"]


def test_a_changed_byte_is_refused_and_named(package, tmp_path):
    changed = _rewrite(package, tmp_path / "changed.zip", change="transcript.json")
    result = bilu(_fresh(tmp_path), "verify", "--package", changed)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith("member_changed\ttranscript.json\t")
    assert result.stdout.splitlines()[-1] == "NOT intact: 1 problems"


def test_a_byte_changed_inside_the_archive_file_is_refused(package, tmp_path):
    with zipfile.ZipFile(package) as archive:
        audio = next(info for info in archive.infolist() if info.filename.startswith("audio/"))
        offset = audio.header_offset + 30 + len(audio.filename.encode()) + len(audio.extra) + 5000
    data = bytearray(package.read_bytes())
    data[offset] ^= 0x40  # stored uncompressed: a sample of the recording, in place
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(data))
    report = json.loads(bilu(_fresh(tmp_path), "verify", "--package", damaged, "--json").stdout)
    assert not report["intact"]
    assert ("member_changed", audio.filename) in [(p["kind"], p["subject"]) for p in report["problems"]]


def test_a_missing_member_is_refused(package, tmp_path):
    missing = _rewrite(package, tmp_path / "missing.zip", drop="record.docx")
    result = bilu(_fresh(tmp_path), "verify", "--package", missing)
    assert result.exit_code == 1
    assert "member_missing\trecord.docx\t" in result.stdout


def test_a_manifest_rewritten_to_match_a_change_breaks_the_seal(package, tmp_path):
    with zipfile.ZipFile(package) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        text = archive.read("record.txt").decode("utf-8").replace("讯问笔录", "询问笔录", 1).encode("utf-8")
    manifest["members"]["record.txt"] = {"sha256": hashlib.sha256(text).hexdigest(), "bytes": len(text)}
    forged = _rewrite(package, tmp_path / "forged.zip", replace={
        "record.txt": text, "manifest.json": json.dumps(manifest, ensure_ascii=False).encode("utf-8")})
    report = json.loads(bilu(_fresh(tmp_path), "verify", "--package", forged, "--json").stdout)
    assert [(p["kind"], p["subject"]) for p in report["problems"]] == [("seal_mismatch", "manifest.json")]


def test_an_added_file_is_named(package, tmp_path):
    with zipfile.ZipFile(package) as archive:
        data = archive.read("findings.json")
    added = tmp_path / "added.zip"
    added.write_bytes(package.read_bytes())
    with zipfile.ZipFile(added, "a") as archive:
        archive.writestr("findings-corrected.json", data)
    result = bilu(_fresh(tmp_path), "verify", "--package", added)
    assert result.exit_code == 1 and "member_unlisted\tfindings-corrected.json\t" in result.stdout


def test_bad_input_exits_2(package, tmp_path):
    not_zip = tmp_path / "not.zip"
    not_zip.write_text("不是压缩包", encoding="utf-8")
    home = _fresh(tmp_path)
    for path, words in ((not_zip, "not a ZIP"), (tmp_path / "absent.zip", "no such file")):
        result = bilu(home, "verify", "--package", path)
        assert result.exit_code == 2 and words in result.stderr
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", "x")
    result = bilu(home, "verify", "--package", other)
    assert result.exit_code == 2 and "no manifest.json" in result.stderr
    both = bilu(home, "verify", "1", "--package", package)
    assert both.exit_code == 2
    no_output = bilu(home, "export", "1", "--format", "package")
    assert no_output.exit_code == 2 and "-o FILE.zip" in no_output.stderr


def test_the_session_page_route_gives_a_package_that_verifies(transcribed, tmp_path):
    settings, session_id = transcribed
    with Store.open(settings.home) as store:
        if not any(user["name"] == "packer" for user in store.list_users()):
            store.add_user("packer", role="officer", unit="默认单位", password=PASSWORD)
    with client_for(settings) as client:
        client.headers.update(bearer(client, "packer"))
        response = client.get(f"/sessions/{session_id}/export", params={"format": "package"})
        page = client.get(f"/sessions/{session_id}/page")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert f"/sessions/{session_id}/export?format=package" in page.text
    out = tmp_path / "from-the-page.zip"
    out.write_bytes(response.content)
    result = bilu(_fresh(tmp_path), "verify", "--package", out)
    assert result.exit_code == 0, result.output
