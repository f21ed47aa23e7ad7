"""The check on the corpus (bench/consistency_corpus): properties that must hold on every pair, not figures
(the benchmark measures those)."""
from datetime import datetime

import pytest

from bench.consistency_pairs import load_pairs
from consistency import KINDS, SEVERITIES, Spoken, check_record, parse_text

ALL_PAIRS = load_pairs()
# the corpus the aligner was written against; the pipeline pair is measured, not held; heldout_c and heldout_d are
# corpora of their own (checked below, heldout_d only for properties: it stays a held-out set); heldout_e and
# heldout_f are held out and only measured by bench/consistency.py (written by sessions that never read the aligner)
PAIRS = [p for p in ALL_PAIRS if p.split not in ("pipeline", "heldout_c", "heldout_d", "heldout_e", "heldout_f")]
LATER = [p for p in ALL_PAIRS if p.split in ("heldout_c", "heldout_d")]


def _check(pair):
    record = parse_text(pair.written_text)
    utterances = [Spoken(u["id"], u["start_s"], u["end_s"], u.get("role"), u["text"]) for u in pair.utterances]
    report = check_record(record, utterances, recording_started_at=datetime.fromisoformat(pair.recording_started_at),
                          recording_ended_at=datetime.fromisoformat(pair.recording_ended_at))
    return record, utterances, report


def test_the_corpus_has_twenty_records_in_three_variants_and_every_kind_planted():
    assert len({p.name for p in PAIRS}) == 20 and len(PAIRS) == 80
    planted = [e for p in PAIRS if p.split in ("tune", "heldout") for e in p.expected]
    assert {e.kind for e in planted} == set(KINDS)
    whats = {e.what for e in planted}
    assert {"rights_notice", "recusal", "counsel", "record_review", "denial", "retraction", "ill_treatment",
            "lawyer", "stop", "refuse_sign", "polarity", "amount", "date", "number", "name", "place"} <= whats


def test_the_later_corpora_hold_twelve_records_in_three_variants_with_every_kind_planted():
    assert len({p.name for p in LATER}) == 12 and len(LATER) == 36
    planted = [e for p in LATER for e in p.expected]
    assert {e.kind for e in planted} == set(KINDS)
    assert {"polarity", "amount", "date", "time", "number", "name", "place"} <= {
        e.what for e in planted if e.kind == "changed"}
    for pair in LATER:  # every planted edit lands on a written block or a stretch of the recording
        assert all(e.kind == "header_time" or e.blocks or e.start_s is not None for e in pair.expected)


@pytest.mark.parametrize("pair", PAIRS + LATER, ids=lambda p: f"{p.name}-{p.variant}-{p.split}")
def test_alignment_keeps_time_order_and_each_block_has_one_result(pair):
    record, utterances, report = _check(pair)
    assert [a.block for a in report.alignments] == list(range(len(record.blocks)))
    known = {u.id: u for u in utterances}
    starts = [a.start_s for a in report.alignments if a.utterance_ids and not a.moved]
    assert starts == sorted(starts)  # monotonic in time: a block never goes back before the one before it
    for alignment in report.alignments:
        assert 0.0 <= alignment.similarity <= 1.0
        if alignment.utterance_ids:
            spoken = [known[i] for i in alignment.utterance_ids]
            assert alignment.start_s == spoken[0].start_s and alignment.end_s == spoken[-1].end_s
    for d in report.discrepancies:
        assert d.kind in KINDS and d.severity in SEVERITIES
        assert d.written or d.spoken  # what differs is shown
        if d.kind == "said_not_written":
            assert d.spoken and all(i in known for i in d.utterance_ids)


@pytest.mark.parametrize("pair", [p for p in PAIRS if p.variant == "clean"]
                         + [p for p in LATER if p.split == "heldout_c" and p.variant != "planted"],
                         ids=lambda p: f"{p.name}-{p.variant}")
def test_a_clean_record_against_its_own_transcript_is_consistent(pair):
    _, _, report = _check(pair)
    assert report.consistent, [(d.kind, d.what, d.written, d.spoken) for d in report.discrepancies]


def test_a_rights_notice_only_in_the_written_record_is_high():
    pair = next(p for p in PAIRS if p.name == "cf_fraud_split" and p.variant == "planted" and p.split == "tune")
    _, _, report = _check(pair)
    unsaid = [d for d in report.discrepancies if d.kind == "written_not_said"]
    assert unsaid and unsaid[0].what == "counsel" and unsaid[0].severity == "high"
    assert "律师" in unsaid[0].written


def test_a_complaint_of_ill_treatment_left_out_is_reported_with_its_time():
    pair = next(p for p in PAIRS if p.name == "cf_theft_complete" and p.variant == "planted" and p.split == "tune")
    _, utterances, report = _check(pair)
    left_out = [d for d in report.discrepancies if d.kind == "said_not_written"]
    said = next(u for u in utterances if "打我" in u.text)
    assert [(d.what, d.severity, d.start_s, d.end_s) for d in left_out] == [
        ("ill_treatment", "high", said.start_s, said.end_s)]


def test_header_times_far_from_the_recording_are_reported_and_close_ones_are_not():
    record = parse_text("时间：2025年1月1日9时00分至2025年1月1日11时00分\n问：姓名？\n答：张海。")
    spoken = [Spoken(1, 1.0, 2.0, "讯问人", "姓名"), Spoken(2, 2.5, 3.0, "被讯问人", "张海")]
    close = check_record(record, spoken, recording_started_at=datetime(2025, 1, 1, 9, 2),
                         recording_ended_at=datetime(2025, 1, 1, 10, 57))
    assert close.consistent
    far = check_record(record, spoken, recording_started_at=datetime(2025, 1, 1, 9, 40),
                       recording_ended_at=datetime(2025, 1, 1, 10, 0))
    assert [(d.kind, d.what, d.severity) for d in far.discrepancies] == [
        ("header_time", "start", "high"), ("header_time", "end", "high")]
    unknown = check_record(record, spoken)
    assert unknown.consistent and "recording_clock_unknown" in unknown.notes
