"""Rule sets: the shipped files load, and malformed files are refused with a useful message."""
from pathlib import Path

import pytest

from lexicon import (Finding, LexiconError, RuleError, condition_names, load_rule_set, rule_set_names)

DOMAIN_KEYS = (  # the requirements table of DOMAIN.md, in its order
    "identify_officers", "announce_recording", "start_time", "verify_identity", "rights_notice", "recusal",
    "counsel", "leniency", "refuse_irrelevant", "crime_question_first", "record_review", "end_time",
)

GOOD_RULE = """
[[rules]]
key = "caution"
title = "告知如实回答"
basis = "CPL 120"
speaker = "officer"
order = "before_facts"
phrases = ["你要如实回答"]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_rule_set_has_the_domain_keys_in_order():
    rule_set = load_rule_set()
    assert rule_set.name == "criminal_first"
    assert rule_set.keys == DOMAIN_KEYS
    assert all(rule.basis and rule.title for rule in rule_set.rules)
    assert "讯问人" in rule_set.officer_roles and "被讯问人" not in rule_set.officer_roles


def test_shipped_sets_and_conditions_are_listed_and_load():
    assert {"criminal_first", "criminal_later", "administrative"} <= set(rule_set_names())
    assert set(condition_names()) == {"minor", "deaf_mute", "interpreter", "long_questioning",
                                      "mandatory_legal_aid"}
    for name in rule_set_names():
        assert load_rule_set(name).rules
    admin = load_rule_set("administrative")
    assert "truthful_duty" in admin.keys and "rights_notice" not in admin.keys


def test_conditions_append_their_rules_after_the_base_rules():
    rule_set = load_rule_set("criminal_first", conditions=["minor", "interpreter"])
    assert rule_set.keys[: len(DOMAIN_KEYS)] == DOMAIN_KEYS
    assert rule_set.keys[len(DOMAIN_KEYS):] == ("guardian_present", "interpreter_present")
    assert rule_set.conditions == ("minor", "interpreter")
    assert rule_set.rule("guardian_present").condition == "minor"


def test_unknown_set_or_condition_names_the_allowed_ones():
    with pytest.raises(RuleError, match="criminal_first"):
        load_rule_set("criminal_fist")
    with pytest.raises(RuleError, match="minor"):
        load_rule_set(conditions=["juvenile"])


def test_inherited_rules_keep_their_phrasings():
    later = load_rule_set("criminal_later")
    first = load_rule_set("criminal_first")
    assert later.rule("record_review").phrases == first.rule("record_review").phrases
    admin = load_rule_set("administrative")
    assert admin.rule("end_time").title != first.rule("end_time").title  # overridden field
    assert admin.rule("end_time").term_sets == first.rule("end_time").term_sets


def test_operator_folder_adds_and_overrides_sets(tmp_path):
    write(tmp_path, "night_shift", '[set]\ntitle = "夜间讯问"\n' + GOOD_RULE)
    write(tmp_path, "criminal_later", GOOD_RULE)  # replaces the shipped set of that name
    assert "night_shift" in rule_set_names(extra_dirs=[tmp_path])
    assert load_rule_set("night_shift", extra_dirs=[tmp_path]).keys == ("caution",)
    assert load_rule_set("criminal_later", extra_dirs=[tmp_path]).keys == ("caution",)
    assert load_rule_set("criminal_later").keys != ("caution",)
    assert load_rule_set(str(tmp_path / "night_shift.toml")).title == "夜间讯问"


def test_malformed_toml_names_the_file(tmp_path):
    path = write(tmp_path, "broken", '[[rules]]\nkey = "x\n')
    with pytest.raises(RuleError, match="broken.toml: not valid TOML"):
        load_rule_set(str(path))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda t: t.replace('basis = "CPL 120"\n', ""), r"rule 'caution': field 'basis' is missing"),
        (lambda t: t.replace('title = "告知如实回答"\n', ""), r"rule 'caution': field 'title' is missing"),
        (lambda t: t.replace('"before_facts"', '"sometime"'), r"rule 'caution': field 'order': 'sometime' is unknown"),
        (lambda t: t.replace('speaker = "officer"', 'speaker = "suspect"'), r"field 'speaker': 'suspect' is unknown"),
        (lambda t: t.replace('phrases = ["你要如实回答"]', 'phrases = "你要如实回答"'), r"field 'phrases'"),
        (lambda t: t.replace('phrases = ["你要如实回答"]', 'phrasings = ["你要如实回答"]'), r"unknown field\(s\) \['phrasings'\]"),
        (lambda t: t.replace('phrases = ["你要如实回答"]', ""), r"give at least one way of saying it"),
        (lambda t: t.replace('key = "caution"', 'key = "Caution!"'), r"rule #1: field 'key'"),
        (lambda t: t + "[[rules.terms]]\nall = []\n", r"field 'terms\[0\].all' is missing or empty"),
        (lambda t: t + GOOD_RULE, r"rule 'caution': field 'key': defined twice"),
        (lambda t: '[set]\nterm_threshold = 2\n' + t, r"term_threshold"),
    ],
)
def test_a_bad_rule_is_refused_naming_file_rule_and_field(tmp_path, change, expected):
    path = write(tmp_path, "custom", change(GOOD_RULE))
    with pytest.raises(RuleError, match=expected) as info:
        load_rule_set(str(path))
    assert "custom.toml" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_from_a_rule_that_does_not_exist_is_refused(tmp_path):
    path = write(tmp_path, "custom", '[[rules]]\nkey = "no_such_rule"\nfrom = "criminal_first"\n')
    with pytest.raises(RuleError, match="rule set 'criminal_first' has no rule 'no_such_rule'"):
        load_rule_set(str(path))


def test_a_finding_with_an_unknown_status_is_refused():
    with pytest.raises(LexiconError, match="'done' is unknown; allowed: satisfied, missing"):
        Finding("counsel", "t", "done", (), None, "", 0.0, "CPL 34")
