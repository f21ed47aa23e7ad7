"""What a block or an utterance is about, for the kind and severity of a discrepancy.

Written side: the procedural blocks whose absence from the recording matters most (a notice written but never
said does not count, DOMAIN.md). Spoken side: what a suspect says that a record must not leave out. Patterns
are matched on normalized text (Simplified, no punctuation, numerals as digits); the wording is typical
practice, not a formula, so each pattern is broad, and an officer's notice (你有权委托律师) is told apart from a
suspect's request (我要请律师) by its wording, not only by who spoke.
"""
import re

__all__ = ["NOTICE_ELEMENTS", "notice_elements", "ATTESTATION", "WRITTEN_TOPICS", "SPOKEN_TOPICS", "written_topic", "spoken_topic", "OFFICER_ROLES", "INTERPRETER_ROLES"]

OFFICER_ROLES = frozenset({"讯问人", "询问人", "记录人", "officer", "interviewer", "recorder"})
INTERPRETER_ROLES = frozenset({"翻译", "翻译人员", "手语翻译", "interpreter"})

WRITTEN_TOPICS: tuple[tuple[str, re.Pattern], ...] = (
    ("record_review", re.compile(r"以上笔录|笔录.{0,12}(看过|看一|宣读|念给|核对|相符|签名|签字|属实|一致|无误|补充|改)"
                                 r"|(看过|宣读|念).{0,6}(相符|一致|属实)"
                                 # said in other words: 笔录翻译给他听, 你看一下，没问题签字, 念一遍…对不对
                                 r"|笔录.{0,8}(看|念|读|听|翻译给)|(看一下|看看|念一遍|读一遍|听一遍).{0,8}"
                                 r"(没问题|无误|对不对|对的|签字|签名|捺印|按手印)")),
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


NOTICE_ELEMENTS: tuple[tuple[str, re.Pattern], ...] = (
    ("truthful", re.compile(r"如实|老实|实事求是|(讲|说|交代)清楚")),
    ("leniency", re.compile(r"从轻|从宽|减轻|宽大|认罪认罚")),
    ("refuse_irrelevant", re.compile(r"(无关|没关系|没有关系|不相关).{0,10}(拒绝|不回答|不答|不说|可以不)")),
    ("counsel", re.compile(r"律师|辩护|法律援助")),
    ("recusal", re.compile(r"回避")),
    ("recorded", re.compile(r"录音|录像")),
    ("false_statement", re.compile(r"虚假|假话|伪证|说谎|撒谎")),
)
"""What a rights notice tells, each as the written formula and the everyday words an officer says it in: a notice is
said when each thing it tells is said (如实供述…从轻处理 said as 你如实讲清楚…可以从轻处理)."""

ATTESTATION = re.compile(r"^以上笔录.{0,12}(看过|宣读|念|读).{0,12}(相符|一致|属实|无误)")
"""The closing 以上笔录我看过（或向我宣读过），和我说的相符 the person writes in their own hand under the record
(DOMAIN.md): written, not said, once the review itself was said."""


def notice_elements(normalized: str) -> set[str]:
    return {name for name, pattern in NOTICE_ELEMENTS if pattern.search(normalized)}
