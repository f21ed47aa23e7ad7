"""Dates a speaker does not say in full, and the record writes in full (2026年7月9日).

Rules of speech and of 笔录 practice: the year of a recent event is left out (九号晚上, 七月九号), and the record
writes the year of the interview; a day is said relative to the interview (昨天晚上, 前天), and the record writes the
date it stands for; a year is said relative to this one (去年, 大前年). A written date is changed only when the
speaker said another one, so these implied numbers count as said.
"""
import re
from datetime import date, timedelta

__all__ = ["implied_date_numbers", "years_said"]

_RELATIVE_DAYS = (("大前天", -3), ("前天", -2), ("昨天", -1), ("昨晚", -1), ("今天", 0), ("今晚", 0), ("今早", 0))
_RELATIVE_YEARS = (("大前年", -3), ("前年", -2), ("去年", -1), ("今年", 0))
_YEAR_SAID = re.compile(r"\d{2,4}年")


def implied_date_numbers(spoken_normalized: str, interview: date | None) -> set[str]:
    """The year, month and day numbers the speaker's words imply, on the interview's date: its year when no year
    is said, a relative year (去年 → the year before), a relative day (昨天 → the day before)."""
    if interview is None:
        return set()
    implied: set[str] = set()
    relative_year = False
    # the longest word first (大前年 before 前年), each position taken once
    text = spoken_normalized
    for word, offset in _RELATIVE_YEARS:
        if word in text:
            implied.add(str(interview.year + offset))
            relative_year = True
            text = text.replace(word, "")
    if not relative_year and not _YEAR_SAID.search(spoken_normalized):
        implied.add(str(interview.year))
    text = spoken_normalized
    for word, offset in _RELATIVE_DAYS:
        if word in text:
            day = interview + timedelta(days=offset)
            implied.update({str(day.year), str(day.month), str(day.day)})
            text = text.replace(word, "")
    return implied


def years_said(spoken_normalized: str, interview: date | None) -> set[str]:
    """The years the speaker named, in digits (2025年) or relative to the interview (去年): a written year that is
    none of them was changed, even where the recognizer's digits do not line up with it."""
    years = set(re.findall(r"(\d{4})年", spoken_normalized))
    if interview is not None:
        text = spoken_normalized
        for word, offset in _RELATIVE_YEARS:
            if word in text:
                years.add(str(interview.year + offset))
                text = text.replace(word, "")
    return years
