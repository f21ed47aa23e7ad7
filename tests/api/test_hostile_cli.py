"""Hostile and broken input through `bilu`: every kind exits 2 with one line `bilu: error: …` naming the problem
and leaves what is stored exactly as it was; valid but unusual audio is transcribed. The files are the same as
the upload route gets (tests/api/hostile_audio.py)."""
import pytest
from click.testing import CliRunner

from api.cli import cli
from cases import Store
from tests.api import hostile_audio
from tests.api.helpers import stored_session
from tests.api.test_hostile_inputs import snapshot

CASE = "H-CLI-1"


@pytest.fixture(scope="module")
def home(tmp_path_factory, data_dir):
    home = tmp_path_factory.mktemp("cli-home")
    with Store.open(home) as store:
        (home / "audio").mkdir(parents=True, exist_ok=True)
        (home / "audio" / "kept.wav").write_bytes((data_dir / hostile_audio.CLIP).read_bytes())
        stored_session(store, CASE, [(0.0, 2.0, "S1", "你是否申请回避"), (2.5, 4.0, "S2", "不申请")],
                       audio_path="audio/kept.wav")
    return home


def bilu(home, *args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"BILU_HOME": str(home)}, catch_exceptions=False)


def assert_refused(result, words: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bilu: error: "), result.stderr
    assert words in lines[0], lines[0]


@pytest.mark.mechanism  # refused before recognition, whatever the words
@pytest.mark.parametrize(("kind", "make", "message"), hostile_audio.REFUSED, ids=[k[0] for k in hostile_audio.REFUSED])
def test_broken_audio_exits_2_with_one_line_and_nothing_changes(home, tmp_path, data_dir, kind, make, message):
    path = make(tmp_path, data_dir)
    before = snapshot(home)
    assert_refused(bilu(home, "transcribe", path, "--case", CASE), message)
    assert snapshot(home) == before


@pytest.mark.parametrize(("kind", "make", "expect"), hostile_audio.ACCEPTED, ids=[k[0] for k in hostile_audio.ACCEPTED])
def test_unusual_but_valid_audio_is_transcribed(home, tmp_path, data_dir, manifest, whisper_model, monkeypatch, kind,
                                               make, expect):
    # The same real model the session loaded, instead of each `bilu transcribe` loading it again (seconds each).
    monkeypatch.setattr("engine.pipeline.load_model", lambda spec, *, cache_dir=None: whisper_model)
    path = make(tmp_path, data_dir)
    result = bilu(home, "transcribe", path, "--case", CASE, *(["--speakers", "1"] if kind != "8-channels" else []))
    assert result.exit_code == 0, result.output
    session_id = int(result.stdout.strip().splitlines()[-1])
    with Store.open(home) as store:
        session = store.get_session(session_id)
        text = "".join(u["text"] for u in store.utterances(session_id))
    assert session["status"] == "done"
    if expect.endswith("speech"):
        limit = 0.6 if expect == "narrowband speech" else 0.35
        assert hostile_audio.character_error_rate(manifest[hostile_audio.CLIP]["transcript"], text) <= limit, text
    elif expect == "empty":
        assert text == ""


ARGUMENT_CASES = [
    # (id, arguments after `bilu` (FILE: a real clip), words in the error)
    ("case-non-utf8", ["transcribe", "FILE", "--case", "A\udcff\udcfe"], "case number"),
    ("case-replacement-char", ["transcribe", "FILE", "--case", "A\ufffd"], "case number"),
    ("case-10000-chars", ["transcribe", "FILE", "--case", "A" * 10_000], "10000 characters"),
    ("case-with-slash", ["transcribe", "FILE", "--case", "A/B"], "case number"),
    ("case-dotdot", ["transcribe", "FILE", "--case", ".."], "case number"),
    ("case-with-nul", ["transcribe", "FILE", "--case", "A\x00B"], "case number"),
    ("case-with-newline", ["transcribe", "FILE", "--case", "A\nB"], "case number"),
    ("case-path-like", ["transcribe", "FILE", "--case", "../../etc/passwd"], "case number"),
    ("room-path-like", ["transcribe", "FILE", "--case", CASE, "--room", "../../etc/passwd"], "room name"),
    ("room-with-newline", ["transcribe", "FILE", "--case", CASE, "--room", "A\nB"], "room name"),
    ("seat-roles-not-roles", ["transcribe", "FILE", "--case", CASE, "--seat-roles", "讯问人,法官"], "法官"),
    ("speakers-zero", ["transcribe", "FILE", "--case", CASE, "--speakers", "0"], "speakers"),
    ("speakers-huge", ["transcribe", "FILE", "--case", CASE, "--speakers", "9" * 40], "speakers"),
    ("unknown-rule-set", ["transcribe", "FILE", "--case", CASE, "--rules", "nonesuch"], "nonesuch"),
    ("unknown-condition", ["transcribe", "FILE", "--case", CASE, "--condition", "astronaut"], "astronaut"),
    ("file-is-a-folder", ["transcribe", "FOLDER", "--case", CASE], "no such file"),
    ("file-is-etc-passwd", ["transcribe", "/etc/passwd", "--case", CASE], "not a recording"),
    ("show-huge-id", ["show", "99999999999999999999999"], "out of range"),
    ("show-negative-id", ["show", "-1"], "-1"),
    ("export-huge-id", ["export", "99999999999999999999999", "--format", "txt"], "out of range"),
    ("check-path-like-id", ["check", "../../etc/passwd"], "SESSION_ID"),
]


@pytest.mark.mechanism  # refused before recognition, whatever the words
@pytest.mark.parametrize(("kind", "args", "words"), ARGUMENT_CASES, ids=[c[0] for c in ARGUMENT_CASES])
def test_bad_arguments_exit_2_and_nothing_changes(home, tmp_path, data_dir, kind, args, words):
    replace = {"FILE": str(data_dir / hostile_audio.CLIP), "FOLDER": str(tmp_path)}
    before = snapshot(home)
    assert_refused(bilu(home, *[replace.get(a, a) for a in args]), words)
    assert snapshot(home) == before
