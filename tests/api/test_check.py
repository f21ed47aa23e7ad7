"""`bilu check` and the findings stored with a transcribed session."""
import json

from click.testing import CliRunner

from api.cli import cli
from cases import Store

DOMAIN_KEYS = ["identify_officers", "announce_recording", "start_time", "verify_identity", "rights_notice", "recusal",
               "counsel", "leniency", "refuse_irrelevant", "crime_question_first", "record_review", "end_time"]


def bilu(home, *args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"BILU_HOME": str(home)}, catch_exceptions=False)


def test_a_complete_interrogation_passes(tmp_path, data_dir):
    result = bilu(tmp_path, "check", "--transcript", data_dir / "transcripts" / "cf_theft_complete.json", "--json")
    assert result.exit_code == 0
    findings = json.loads(result.stdout)
    assert [f["key"] for f in findings] == DOMAIN_KEYS
    assert {f["status"] for f in findings} == {"satisfied"}
    for f in findings:
        assert set(f) >= {"key", "status", "utterance_ids", "start_s", "evidence", "score"} and f["utterance_ids"]


def test_missing_and_misattributed_statements_exit_1(tmp_path, data_dir):
    transcript = data_dir / "transcripts" / "cf_fraud_no_counsel.json"
    expected = json.loads((data_dir / "transcripts" / "cf_fraud_no_counsel.expected.json").read_text())
    result = bilu(tmp_path, "check", "--transcript", transcript, "--json")
    assert result.exit_code == 1
    assert {f["key"]: f["status"] for f in json.loads(result.stdout)} == expected
    table = bilu(tmp_path, "check", "--transcript", transcript).stdout
    assert "未发现" in table and "counsel" in table


def test_bad_check_input_exits_2(tmp_path, data_dir):
    (tmp_path / "bad.json").write_text('{"utterances": [{"start_s": "soon"}]}')
    (tmp_path / "not.json").write_text("讯问笔录")
    transcript = data_dir / "transcripts" / "cf_theft_complete.json"
    for args in (["check", "--transcript", tmp_path / "bad.json"], ["check", "--transcript", tmp_path / "not.json"],
                 ["check", "--transcript", transcript, "--rules", "nonesuch"], ["check", "12345"], ["check"]):
        result = bilu(tmp_path, *args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output


def test_transcribed_session_carries_its_findings(transcribed):
    settings, session_id = transcribed
    with Store.open(settings.home) as store:
        session = store.get_session(session_id)
    assert session["rule_set"] == "criminal_first"
    assert [f["key"] for f in session["findings"]] == DOMAIN_KEYS
    exported = json.loads(bilu(settings.home, "export", session_id, "--format", "json").stdout)
    assert [f["key"] for f in exported["session"]["findings"]] == DOMAIN_KEYS
    assert "程序性告知检查" in bilu(settings.home, "export", session_id, "--format", "txt").stdout
    # The demo mix is a lecture, not an interrogation: the checker must not invent notices in it.
    assert all(f["status"] != "satisfied" for f in session["findings"] if f["key"] in ("rights_notice", "counsel"))


def test_rechecking_with_another_rule_set_replaces_the_findings(transcribed):
    settings, session_id = transcribed
    result = bilu(settings.home, "check", session_id, "--rules", "administrative", "--json")
    assert result.exit_code == 1
    keys = [f["key"] for f in json.loads(result.stdout)]
    with Store.open(settings.home) as store:
        session = store.get_session(session_id)
    assert session["rule_set"] == "administrative"
    assert [f["key"] for f in session["findings"]] == keys and "announce_recording" not in keys
    bilu(settings.home, "check", session_id, "--rules", "criminal_first")
