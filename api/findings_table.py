"""Printing the procedural checklist: a table for people, JSON for programs."""
import json
import shutil
import unicodedata

import click

from lexicon import Finding

STATUS_MARKS = {
    "satisfied": ("✓ 已告知", "green"),
    "missing": ("✗ 未发现", "red"),
    "out_of_order": ("! 顺序不当", "yellow"),
    "wrong_speaker": ("! 非办案人员所述", "yellow"),
}


def print_findings(findings: list[Finding], *, as_json: bool = False) -> None:
    if as_json:
        click.echo(json.dumps([f.to_dict() for f in findings], ensure_ascii=False, indent=2))
        return
    width = shutil.get_terminal_size((120, 20)).columns
    for f in findings:
        mark, colour = STATUS_MARKS.get(f.status, (f.status, None))
        when = _clock(f.start_s) if f.start_s is not None else "--:--:--"
        note = f.evidence if f.status == "satisfied" else (f.detail or f.evidence)
        click.echo(click.style(_cut(f"{_pad(mark, 18)} {when}  {f.rule_key:22s} {f.title}", width), fg=colour))
        if note:
            click.echo(_cut(f"{'':30s}{note}", width))
    satisfied = sum(f.status == "satisfied" for f in findings)
    click.echo(f"{satisfied}/{len(findings)} satisfied")


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _display_width(text))


def _cut(text: str, width: int) -> str:
    out, used = [], 0
    for ch in text:
        used += _display_width(ch)
        if used > width:
            break
        out.append(ch)
    return "".join(out)
