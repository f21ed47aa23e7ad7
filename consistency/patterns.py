"""What a block or an utterance is about, for the kind and severity of a discrepancy.

Written side: the procedural blocks whose absence from the recording matters most (a notice written but never
said does not count, DOMAIN.md). Spoken side: what a suspect says that a record must not leave out. Patterns
are matched on normalized text (Simplified, no punctuation, numerals as digits); the wording is typical
practice, not a formula, so each pattern is broad, and an officer's notice (你有权委托律师) is told apart from a
suspect's request (我要请律师) by its wording, not only by who spoke.
"""
import re

__all__ = ["WRITTEN_TOPICS", "SPOKEN_TOPICS", "written_topic", "spoken_topic", "OFFICER_ROLES", "INTERPRETER_ROLES"]

OFFICER_ROLES = frozenset({"讯问人", "询问人", "记录人", "officer", "interviewer", "recorder"})
INTERPRETER_ROLES = frozenset({"翻译", "翻译人员", "手语翻译", "interpreter"})

WRITTEN_TOPICS: tuple[tuple[str, re.Pattern], ...] = (
    ("record_review", re.compile(r"以上笔录|笔录.{0,12}(看过|看一|宣读|念给|核对|相符|签名|签字|属实|一致|无误|补充|改)"
                                 r"|(看过|宣读|念).{0,6}(相符|一致|属实)")),
    ("recusal", re.compile(r"回避")),
    ("counsel", re.compile(r"律师|辩护|法律援助|法律帮助")),
    ("rights_notice", re.compile(r"告知书|权利[和与及]?义务|拒绝回答|不回答|可以不答|如实(回答|供述|交代|陈述)|虚假陈述|假话|伪证"
                                 r"|从宽|从轻|认罪认罚|录音录像|录像录音")),
)

SPOKEN_TOPICS: tuple[tuple[str, re.Pattern], ...] = (
    ("ill_treatment", re.compile(r"打(我|了我|他|了他)|打了(一顿|几下|好几下)|按在地上|踢(我|了我|他|了他)|扇(我|了我|他)"
                                 r"|逼(我|他)|被逼|不让(我|他)?睡|刑讯|威胁(我|他)|吓唬|冻(我|他)|饿(我|他)"
                                 r"|没让(我|他)?(吃|喝|睡)")),
    ("lawyer", re.compile(r"(我|他)(要|想|需要)(请|找|见|叫)?律师|(给我|让我)(请|找|见)律师|律师不来|等律师")),
    ("stop", re.compile(r"(不想|不愿意?|不)(说|讲|回答|答)了|不要(再)?问了|不问了|别问了|停下|休息一下|我要休息|不想再说")),
    ("refuse_sign", re.compile(r"不(签|签字|签名|按手印|捺印)(?!好)|拒绝签")),
    ("retraction", re.compile(r"刚才(说|讲)的不对|(说|讲)错了|不是这样|收回|改口|之前(说|讲)的(不对|不是)|上次(说|讲)的不对"
                             r"|不对(?!(应该|应当)?是)")),  # 前年，不对，是大前年: a self-repair of one word, no retraction
    ("denial", re.compile(r"没有(犯罪|违法|做|干|偷|拿|抢|打|骗|卖|参与|动手)|不是我|没干|冤枉|与我无关|跟我没关系|我没有"
                          r"|(我|他)没(?!有?(问题|意见|错|补充|遗漏|什么|带|钱|工作|文化|结婚|看|听|别的|了))")),
)


def written_topic(normalized: str) -> str | None:
    for topic, pattern in WRITTEN_TOPICS:
        if pattern.search(normalized):
            return topic
    return None


def spoken_topic(normalized: str) -> tuple[str, str] | None:
    """The topic and the words that show it, or None."""
    for topic, pattern in SPOKEN_TOPICS:
        match = pattern.search(normalized)
        if match:
            return topic, match.group()
    return None
