"""The `bilu` command line, run in-process with click's runner against a real BILU_HOME."""
import json
import os
import sqlite3
import time
import wave

import pytest
from click.testing import CliRunner

from api.cli import cli
from tests.audio_helpers import write_audio

pytestmark = pytest.mark.recognition  # `bilu transcribe` runs the model in a child process


def bilu(home, *args):
    result = CliRunner().invoke(cli, [str(a) for a in args], env={"BILU_HOME": str(home)}, catch_exceptions=False)
    return result


def stored_counts(home) -> tuple[int, int, list[str]]:
    db = home / "bilu.db"
    if not db.exists():
        return 0, 0, []
    with sqlite3.connect(db) as conn:
        sessions = conn.execute("select count(*) from sessions").fetchone()[0]
        utterances = conn.execute("select count(*) from utterances").fetchone()[0]
    audio = sorted(str(p.relative_to(home)) for p in (home / "audio").rglob("*") if p.is_file())
    return sessions, utterances, audio


@pytest.fixture(scope="module")
def seats_session(transcribed):
    settings, session_id = transcribed
    return settings.home, session_id


def test_transcribe_prints_the_session_id(tmp_path, data_dir):
    home = tmp_path / "home"
    result = bilu(home, "transcribe", data_dir / "aishell1_BAC009S0724W0121.wav", "--case", "B-7", "--speakers", "1",
                  "--seat-roles", "被讯问人")
    assert result.exit_code == 0, result.output
    session_id = int(result.stdout.strip().splitlines()[-1])
    shown = bilu(home, "show", session_id)
    assert "被讯问人:" in shown.stdout and "B-7" in shown.stdout
    listed = bilu(home, "cases")
    assert "B-7" in listed.stdout and f"session {session_id}" in listed.stdout


def test_seat_channels_follow_the_ground_truth(seats_session, data_dir):
    home, session_id = seats_session
    exported = json.loads(bilu(home, "export", session_id, "--format", "json").stdout)
    truth = json.loads((data_dir / "dev_room_2spk.json").read_text())["turns"]
    seat_of = {"seat1": 0, "seat2": 1}
    agree = total = 0.0
    for u in exported["utterances"]:
        # the ground-truth turn that overlaps this utterance most
        best = max(truth, key=lambda t: min(t["end_s"], u["end_s"]) - max(t["start_s"], u["start_s"]))
        span = u["end_s"] - u["start_s"]
        total += span
        agree += span * (seat_of[best["seat"]] == u["channel"])
        assert u["role"] == ("讯问人" if u["channel"] == 0 else "被讯问人")
    assert total > 20 and agree / total > 0.95


def test_export_formats(seats_session, tmp_path):
    home, session_id = seats_session
    data = json.loads(bilu(home, "export", session_id, "--format", "json").stdout)
    utterances = data["utterances"]
    assert data["session"]["case_no"] == "A-2026-0001" and len(utterances) >= 4
    for u in utterances:
        assert set(u) >= {"id", "start_s", "end_s", "speaker", "role", "channel", "text", "words"}
        assert all(u["start_s"] <= w["start_s"] <= w["end_s"] <= u["end_s"] for w in u["words"])

    out = tmp_path / "t.srt"
    assert bilu(home, "export", session_id, "--format", "srt", "-o", out).exit_code == 0
    assert out.read_text(encoding="utf-8").count(" --> ") == len([u for u in utterances if u["text"]])

    vtt = bilu(home, "export", session_id, "--format", "vtt").stdout
    assert vtt.startswith("WEBVTT") and "<v 讯问人>" in vtt and "<v 被讯问人>" in vtt

    rttm = [line.split() for line in bilu(home, "export", session_id, "--format", "rttm").stdout.splitlines()]
    assert rttm and all(f[0] == "SPEAKER" and len(f) == 10 and float(f[4]) > 0 for f in rttm)
    assert {f[7] for f in rttm} == {"S1", "S2"}

    txt = bilu(home, "export", session_id, "--format", "txt").stdout
    assert txt.splitlines()[0].strip() == "讯问笔录"
    assert "问：" in txt and "答：" in txt and "以上笔录我看过" in txt and "一号讯问室" in txt


def test_mono_room_is_diarized_by_voice(tmp_path, data_dir):
    home = tmp_path / "home"
    result = bilu(home, "transcribe", data_dir / "dev_room_2spk.wav", "--case", "C-1")
    session_id = int(result.stdout.strip().splitlines()[-1])
    utterances = json.loads(bilu(home, "export", session_id, "--format", "json").stdout)["utterances"]
    assert {u["speaker"] for u in utterances} == {"S1", "S2"}
    assert all(u["channel"] is None for u in utterances)


def test_zero_seconds_of_audio_is_an_empty_transcript(tmp_path):
    path = tmp_path / "nothing.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
    home = tmp_path / "home"
    result = bilu(home, "transcribe", path, "--case", "D-1")
    assert result.exit_code == 0
    session_id = int(result.stdout.strip())
    data = json.loads(bilu(home, "export", session_id, "--format", "json").stdout)
    assert data["utterances"] == [] and data["session"]["status"] == "done"


def test_other_containers_go_through_the_whole_pipeline(tmp_path, data_dir):
    from capture import decode_file

    clip = decode_file(data_dir / "paddlespeech_zh.wav").mono()
    path = write_audio(tmp_path / "answer.m4a", clip, 16000)
    home = tmp_path / "home"
    session_id = int(bilu(home, "transcribe", path, "--case", "E-1", "--speakers", "1").stdout.strip())
    assert "跑步" in bilu(home, "export", session_id, "--format", "txt").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (lambda d, t: ["transcribe", t / "notes.wav", "--case", "X-1"], "not a recording"),
        (lambda d, t: ["transcribe", t / "empty.wav", "--case", "X-1"], "empty"),
        (lambda d, t: ["transcribe", t / "missing.wav", "--case", "X-1"], "no such file"),
        (lambda d, t: ["transcribe", d / "wenet_nst_ID001.wav", "--case", "../../etc/passwd"], "case number"),
        (lambda d, t: ["transcribe", d / "wenet_nst_ID001.wav", "--case", "X-1", "--seat-roles", "讯问人,法官"], "法官"),
        (lambda d, t: ["transcribe", d / "wenet_nst_ID001.wav", "--case", "X-1", "--speakers", "0"], "speakers"),
        (lambda d, t: ["transcribe", d / "wenet_nst_ID001.wav", "--case", "X-1", "--rules", "nonesuch"], "nonesuch"),
        (lambda d, t: ["export", "999", "--format", "txt"], "no session with id 999"),
        (lambda d, t: ["export", "1", "--format", "docx"], "docx"),
        (lambda d, t: ["show", "../1"], "SESSION_ID"),
    ],
    ids=["text-as-wav", "zero-bytes", "missing-path", "path-like-case", "unknown-role", "zero-speakers",
         "unknown-rule-set", "unknown-session", "unknown-format", "path-like-session"],
)
def test_bad_input_exits_2_with_one_clear_line_and_stores_nothing(tmp_path, data_dir, args, message):
    (tmp_path / "notes.wav").write_text("会议记录：这不是录音。", encoding="utf-8")
    (tmp_path / "empty.wav").write_bytes(b"")
    home = tmp_path / "home"
    # A home that already holds a session: bad input must leave it exactly as it was.
    assert bilu(home, "transcribe", data_dir / "wenet_nst_ID002.wav", "--case", "KEEP-1", "--speakers", "1").exit_code == 0
    before = stored_counts(home)
    result = bilu(home, *args(data_dir, tmp_path))
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert stored_counts(home) == before


def test_recover_deletes_copies_a_killed_process_left_staged_and_keeps_fresh_ones(tmp_path):
    # A kill -9 while a file is copied in leaves its staged copy in audio/.incoming; nothing refers to it.
    home = tmp_path / "home"
    assert bilu(home, "recover").exit_code == 0  # creates the store
    incoming = home / "audio" / ".incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    left, fresh = incoming / "left-by-a-dead-process.wav", incoming / "being-copied-now.wav"
    left.write_bytes(b"RIFF" + bytes(1000))
    fresh.write_bytes(b"RIFF" + bytes(1000))
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(left, (two_days_ago, two_days_ago))
    result = bilu(home, "recover")
    assert result.exit_code == 0, result.output
    assert not left.exists()
    assert fresh.exists(), "a copy in progress (recently written) must never be deleted"
