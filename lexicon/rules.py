"""Procedural-statement rule sets: loading TOML files and checking them once, where they enter.

A rule set is data (``lexicon/rules/NAME.toml``, conditional additions in ``rules/conditions/NAME.toml``)
so that an operator can add or edit rules without touching code: folders passed as ``extra_dirs`` (the
service passes its ``BILU_RULES_DIR`` setting) are searched before the shipped folder, so a file there
with a shipped name replaces the shipped set. File layout::

    [set]                       # optional: title, phrase_threshold, term_threshold, pair_gap_s
    [roles]                     # optional: role groups, e.g. officer = ["讯问人", "记录人"]
    [facts]                     # markers = [...]: words that show a question on the facts;
                                # interrogatives = [...], not_facts = [...]: an officer's question
                                # (an interrogative word or a question mark) is on the facts unless it
                                # has a not_facts word (identity, procedure: 姓名, 听清楚 ...)
    [[rules]]                   # in the order the findings are reported
    key = "counsel"             # or: key = "counsel"  from = "criminal_first"  (copy, then override)
    title = "..."; basis = "CPL 34, 35"; speaker = "officer"; order = "before_facts"
    phrases = ["你有权委托律师作为辩护人", ...]
    exclude = ["..."]           # a statement containing one of these never satisfies the rule
    [[rules.terms]]             # one way of saying it: every group must appear (any synonym of a group)
    all = [["委托", "聘请"], ["律师", "辩护人"]]
    clock_time = false          # true: the statement must also contain a clock time (14时20分)
    at_least = 2                # optional: this many of the groups suffice (default: every group)
    max_other_chars = 3         # optional: the statement is (nearly) only its terms: at most this many
                                # characters outside them ("姓名？" asks for the name; a long sentence
                                # that happens to hold 姓名 need not)
"""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from lexicon.errors import RuleError

__all__ = [
    "ORDERS",
    "Rule",
    "RuleSet",
    "TermSet",
    "condition_names",
    "load_rule_set",
    "rule_set_names",
]

logger = logging.getLogger(__name__)

ORDERS = ("start", "before_facts", "facts_first", "end", "any")
"""Where a rule's statement must come: at the start (before the questions on the facts); before the
questions on the facts (the rights notices); first among the questions on the facts (the crime question);
at the end (after the last question on the facts); anywhere."""

ANY_SPEAKER = "any"

DEFAULT_ROLE_GROUPS: dict[str, tuple[str, ...]] = {
    # Role strings the diarizer / the officer's correction may give an investigator's speech.
    "officer": (
        "讯问人", "询问人", "记录人", "侦查人员", "侦查员", "办案人员", "办案民警", "民警", "警察",
        "officer", "interrogator", "questioner", "recorder", "investigator", "police",
    ),
}

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_SET_FIELDS = {"title", "description", "phrase_threshold", "term_threshold", "pair_gap_s"}
_RULE_FIELDS = {"key", "from", "title", "basis", "speaker", "order", "phrases", "terms", "exclude"}
_TERM_FIELDS = {"all", "clock_time", "at_least", "max_other_chars"}
_TOP_FIELDS = {"set", "roles", "facts", "rules"}


@dataclass(frozen=True, slots=True)
class TermSet:
    """One way of saying a rule: every group must appear; a group is satisfied by any of its synonyms."""

    groups: tuple[tuple[str, ...], ...]
    clock_time: bool = False
    at_least: int | None = None
    """How many of the groups must appear; None: every one."""
    max_other_chars: int | None = None
    """At most this many characters of the statement outside the matched terms; None: any number."""


@dataclass(frozen=True, slots=True)
class Rule:
    key: str
    title: str
    basis: str
    speakers: tuple[str, ...]
    """Accepted speaker roles, case-folded; empty means anyone may say it."""
    order: str
    phrases: tuple[str, ...]
    term_sets: tuple[TermSet, ...]
    exclude: tuple[str, ...] = ()
    condition: str | None = None

    def accepts_role(self, role: str | None) -> bool:
        """A statement whose role is unknown (None) is accepted: without roles nothing can be judged."""
        if not self.speakers or role is None:
            return True
        return role.strip().casefold() in self.speakers


@dataclass(frozen=True, slots=True)
class RuleSet:
    name: str
    title: str
    rules: tuple[Rule, ...]
    facts_markers: tuple[str, ...]
    """Words whose presence in an officer's statement shows that questions on the facts have begun."""
    interrogatives: tuple[str, ...]
    """Words that make a statement a question (什么, 为什么, 吗 ...)."""
    not_facts: tuple[str, ...]
    """Words of questions that are not on the facts: identity (姓名, 住址) and procedure (听清楚)."""
    officer_roles: tuple[str, ...]
    conditions: tuple[str, ...] = ()
    phrase_threshold: float = 0.7
    term_threshold: float = 0.8
    pair_gap_s: float = 15.0
    """Two neighbouring statements of one role at most this far apart may carry one split statement."""
    sources: tuple[str, ...] = field(default=(), compare=False)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(rule.key for rule in self.rules)

    def rule(self, key: str) -> Rule:
        for rule in self.rules:
            if rule.key == key:
                return rule
        raise KeyError(key)


def _shipped_dir() -> Path:
    return Path(str(resources.files("lexicon") / "rules"))


def _search_dirs(extra_dirs: Iterable[str | Path]) -> list[Path]:
    dirs = [Path(d) for d in extra_dirs]
    for d in dirs:
        if not d.is_dir():
            raise RuleError(f"rules folder {d} does not exist or is not a folder")
    return [*dirs, _shipped_dir()]


def rule_set_names(*, extra_dirs: Iterable[str | Path] = ()) -> list[str]:
    """Names of the rule sets that `load_rule_set` can find (shipped and in `extra_dirs`)."""
    return sorted({p.stem for d in _search_dirs(extra_dirs) for p in d.glob("*.toml")})


def condition_names(*, extra_dirs: Iterable[str | Path] = ()) -> list[str]:
    """Names of the conditional additions (minor, interpreter, ...) that can be asked for."""
    return sorted(
        {p.stem for d in _search_dirs(extra_dirs) for p in (d / "conditions").glob("*.toml")}
    )


def load_rule_set(
    name_or_path: str | Path = "criminal_first",
    *,
    conditions: Iterable[str] = (),
    extra_dirs: Iterable[str | Path] = (),
) -> RuleSet:
    """Load a rule set by name (searched in `extra_dirs`, then the shipped rules) or from a TOML path,
    and append the rules of each named condition. Raises RuleError on anything malformed."""
    dirs = _search_dirs(extra_dirs)
    text = str(name_or_path)
    if text.endswith(".toml") or "/" in text or "\\" in text:
        path = Path(text)
        if not path.is_file():
            raise RuleError(f"rule file {path} does not exist")
    else:
        path = _find(dirs, text, sub="", what="rule set", known=rule_set_names(extra_dirs=extra_dirs))
    base = _load_file(path, dirs, stack=())
    wanted = list(dict.fromkeys(conditions))
    if not wanted:
        return base
    known = condition_names(extra_dirs=extra_dirs)
    rules = list(base.rules)
    sources = list(base.sources)
    for condition in wanted:
        cpath = _find(dirs, condition, sub="conditions", what="condition", known=known)
        added = _load_file(cpath, dirs, stack=(), condition=condition, roles=_roles_of(base))
        for rule in added.rules:
            if rule.key in {r.key for r in rules}:
                raise RuleError(f"{cpath}: rule '{rule.key}': field 'key': already defined by {base.name}")
            rules.append(rule)
        sources.extend(added.sources)
    return replace(base, rules=tuple(rules), conditions=tuple(wanted), sources=tuple(sources))


def _roles_of(rule_set: RuleSet) -> dict[str, tuple[str, ...]]:
    return {"officer": rule_set.officer_roles}


def _find(dirs: list[Path], name: str, *, sub: str, what: str, known: list[str]) -> Path:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise RuleError(f"{what} name {name!r} is not valid; allowed: {', '.join(known)}")
    for d in dirs:
        candidate = d / sub / f"{name}.toml" if sub else d / f"{name}.toml"
        if candidate.is_file():
            return candidate
    raise RuleError(f"unknown {what} {name!r}; allowed: {', '.join(known)}")


def _load_file(
    path: Path,
    dirs: list[Path],
    *,
    stack: tuple[str, ...],
    condition: str | None = None,
    roles: dict[str, tuple[str, ...]] | None = None,
) -> RuleSet:
    where = str(path)
    if where in stack:
        raise RuleError(f"{where}: rule files refer to each other in a loop: {' -> '.join(stack)}")
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{where}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise RuleError(f"{where}: cannot be read: {exc}") from exc
    _no_unknown(doc, _TOP_FIELDS, where, "file")
    settings = _table(doc, "set", where)
    _no_unknown(settings, _SET_FIELDS, where, "[set]")
    role_groups = dict(roles or DEFAULT_ROLE_GROUPS)
    for group, members in _table(doc, "roles", where).items():
        role_groups[group] = tuple(m.strip().casefold() for m in _strings(members, where, "[roles]", group))
    role_groups = {g: tuple(m.strip().casefold() for m in ms) for g, ms in role_groups.items()}
    facts = _table(doc, "facts", where)
    _no_unknown(facts, {"markers", "interrogatives", "not_facts"}, where, "[facts]")
    markers = tuple(_strings(facts.get("markers", []), where, "[facts]", "markers"))
    interrogatives = tuple(_strings(facts.get("interrogatives", []), where, "[facts]", "interrogatives"))
    not_facts = tuple(_strings(facts.get("not_facts", []), where, "[facts]", "not_facts"))
    raw_rules = doc.get("rules", [])
    if not isinstance(raw_rules, list) or not raw_rules or not all(isinstance(r, dict) for r in raw_rules):
        raise RuleError(f"{where}: field 'rules': expected one or more [[rules]] tables")
    rules: list[Rule] = []
    for index, raw in enumerate(raw_rules):
        rule = _parse_rule(raw, index, where, dirs, stack + (where,), role_groups, condition)
        if rule.key in {r.key for r in rules}:
            raise RuleError(f"{where}: rule '{rule.key}': field 'key': defined twice")
        rules.append(rule)
    orders = [r.order for r in rules]
    if orders.count("facts_first") > 1:
        raise RuleError(f"{where}: field 'order': at most one rule may be 'facts_first'")
    return RuleSet(
        name=path.stem,
        title=_string(settings.get("title", path.stem), where, "[set]", "title"),
        rules=tuple(rules),
        facts_markers=markers,
        interrogatives=interrogatives,
        not_facts=not_facts,
        officer_roles=role_groups.get("officer", ()),
        phrase_threshold=_fraction(settings.get("phrase_threshold", 0.7), where, "phrase_threshold"),
        term_threshold=_fraction(settings.get("term_threshold", 0.8), where, "term_threshold"),
        pair_gap_s=_seconds(settings.get("pair_gap_s", 15.0), where, "pair_gap_s"),
        sources=(where,),
    )


def _parse_rule(
    raw: dict[str, Any],
    index: int,
    where: str,
    dirs: list[Path],
    stack: tuple[str, ...],
    role_groups: dict[str, tuple[str, ...]],
    condition: str | None,
) -> Rule:
    key = raw.get("key")
    if not isinstance(key, str) or not _NAME_RE.match(key):
        raise RuleError(
            f"{where}: rule #{index + 1}: field 'key': missing or not a lower-case name like 'rights_notice'"
        )
    unknown = set(raw) - _RULE_FIELDS
    if unknown:
        raise RuleError(
            f"{where}: rule '{key}': unknown field(s) {sorted(unknown)}; allowed: {sorted(_RULE_FIELDS)}"
        )
    inherited: Rule | None = None
    if "from" in raw:
        source = _string(raw["from"], where, key, "from")
        try:
            path = _find(dirs, source, sub="", what="rule set", known=[])
            inherited = _load_file(path, dirs, stack=stack).rule(key)
        except KeyError:
            raise RuleError(f"{where}: rule '{key}': field 'from': rule set {source!r} has no rule '{key}'")
        except RuleError as exc:
            raise RuleError(f"{where}: rule '{key}': field 'from': {exc}") from exc

    def pick(name: str, default: Any = None) -> Any:
        if name in raw:
            return raw[name]
        if inherited is not None:
            return default
        raise RuleError(f"{where}: rule '{key}': field '{name}' is missing")

    title = _string(pick("title", inherited and inherited.title), where, key, "title")
    basis = _string(pick("basis", inherited and inherited.basis), where, key, "basis")
    order = raw.get("order", inherited.order if inherited else "any")
    if order not in ORDERS:
        raise RuleError(f"{where}: rule '{key}': field 'order': {order!r} is unknown; allowed: {', '.join(ORDERS)}")
    if "speaker" in raw or inherited is None:
        speakers = _speakers(raw.get("speaker", "officer"), where, key, role_groups)
    else:
        speakers = inherited.speakers
    phrases = tuple(_strings(raw["phrases"], where, key, "phrases")) if "phrases" in raw else (
        inherited.phrases if inherited else ()
    )
    exclude = tuple(_strings(raw["exclude"], where, key, "exclude")) if "exclude" in raw else (
        inherited.exclude if inherited else ()
    )
    if "terms" in raw:
        term_sets = _term_sets(raw["terms"], where, key)
    else:
        term_sets = inherited.term_sets if inherited else ()
    if not phrases and not term_sets:
        raise RuleError(f"{where}: rule '{key}': fields 'phrases' and 'terms': give at least one way of saying it")
    return Rule(
        key=key, title=title, basis=basis, speakers=speakers, order=order, phrases=phrases,
        term_sets=term_sets, exclude=exclude, condition=condition,
    )


def _speakers(value: Any, where: str, key: str, role_groups: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    names = _strings(names, where, key, "speaker")
    allowed = [ANY_SPEAKER, *role_groups]
    roles: list[str] = []
    for name in names:
        if name == ANY_SPEAKER:
            return ()
        if name not in role_groups:
            raise RuleError(
                f"{where}: rule '{key}': field 'speaker': {name!r} is unknown; allowed: {', '.join(allowed)} "
                "(add a group under [roles] for other roles)"
            )
        roles.extend(role_groups[name])
    return tuple(dict.fromkeys(roles))


def _term_sets(value: Any, where: str, key: str) -> tuple[TermSet, ...]:
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise RuleError(f"{where}: rule '{key}': field 'terms': expected [[rules.terms]] tables")
    sets = []
    for n, table in enumerate(value):
        label = f"terms[{n}]"
        unknown = set(table) - _TERM_FIELDS
        if unknown:
            raise RuleError(
                f"{where}: rule '{key}': field '{label}': unknown field(s) {sorted(unknown)}; "
                f"allowed: {sorted(_TERM_FIELDS)}"
            )
        groups = table.get("all")
        if not isinstance(groups, list) or not groups:
            raise RuleError(f"{where}: rule '{key}': field '{label}.all' is missing or empty: "
                            "expected a list of synonym lists")
        parsed = tuple(tuple(_strings(g, where, key, f"{label}.all")) for g in groups)
        if any(not g for g in parsed):
            raise RuleError(f"{where}: rule '{key}': field '{label}.all': a synonym list is empty")
        clock = table.get("clock_time", False)
        if not isinstance(clock, bool):
            raise RuleError(f"{where}: rule '{key}': field '{label}.clock_time': expected true or false")
        at_least = table.get("at_least")
        if at_least is not None and (type(at_least) is not int or not 1 <= at_least <= len(parsed)):
            raise RuleError(f"{where}: rule '{key}': field '{label}.at_least': expected a whole number from 1 to "
                            f"{len(parsed)} (the number of groups)")
        other = table.get("max_other_chars")
        if other is not None and (type(other) is not int or other < 0):
            raise RuleError(f"{where}: rule '{key}': field '{label}.max_other_chars': expected a whole number, "
                            "0 or more")
        sets.append(TermSet(groups=parsed, clock_time=clock, at_least=at_least, max_other_chars=other))
    return tuple(sets)


def _no_unknown(table: dict[str, Any], allowed: set[str], where: str, what: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise RuleError(f"{where}: {what}: unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)}")


def _table(doc: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise RuleError(f"{where}: field '{name}': expected a [{name}] table")
    return value


def _string(value: Any, where: str, key: str, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RuleError(f"{where}: rule '{key}': field '{name}': expected a non-empty string, got {value!r}")
    return value.strip()


def _strings(value: Any, where: str, key: str, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RuleError(f"{where}: rule '{key}': field '{name}': expected a list of non-empty strings")
    return [v.strip() for v in value]


def _fraction(value: Any, where: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value <= 1.0:
        raise RuleError(f"{where}: [set]: field '{name}': expected a number in (0, 1], got {value!r}")
    return float(value)


def _seconds(value: Any, where: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise RuleError(f"{where}: [set]: field '{name}': expected seconds >= 0, got {value!r}")
    return float(value)
