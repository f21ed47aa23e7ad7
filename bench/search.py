"""Search over a large generated store: build time, database size, p50/p95 query time per scope and filter.

The store holds N utterances (default 1,000,000) of generated interrogation dialogue: 19 case-handling
centres, 430 grassroots units, cases of ~3 sessions, ~20 utterances a session, speaker roles and procedural
findings. Rows are written in bulk straight into the store's own tables, in large transactions, with the
store's own segmentation (cases.search.segment_for_index) for the full-text index; words are not stored
(search never reads them). The schema comes from `Store.open`, and every query goes through
`Store.search_visible`, the method behind GET /search, timed per call (SQL, rows and snippets).

Prints the figures and writes bench/results/search.json.
Run: python bench/search.py [--utterances 1000000] [--queries 200] [--home DIR --reuse]
"""
import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from contextlib import closing
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
from common import machine, peak_rss_mb, write_results

from cases import Scope, SearchFilters, Store
from cases.search import segment_for_index

SEED = 20260405
CENTRES = 19
UNITS = 430
SESSIONS_PER_CASE = 3
UTTERANCES_PER_SESSION = 20
BATCH_SESSIONS = 2000
"""Sessions written per transaction."""
FIRST_DAY = date(2024, 1, 1)
DAYS = 900
"""Sessions start over these days, in the order they are created (2024-01-01 to 2026-06-18)."""
RULE_KEYS = ("rights_notice", "recusal", "truthful_duty", "leniency", "record_review", "verify_identity")
MISSING_RATE = 0.06
GOAL_P95_MS = 100.0

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
         "霞", "平", "刚", "桂英", "建华", "志强", "海燕", "晓东", "文博", "子涵", "浩然", "俊杰", "春梅", "国庆", "建国",
         "红梅", "德明", "永刚", "立新", "玉兰", "宏伟", "鹏飞"]
DISTRICTS = ["东城", "西城", "朝阳", "海淀", "丰台", "石景山", "通州", "顺义", "昌平", "大兴", "房山", "门头沟", "怀柔",
             "平谷", "密云", "延庆", "滨海", "高新", "经开"]
STREETS = ["人民路", "解放路", "建设路", "中山路", "和平街", "胜利路", "新华路", "长江路", "黄河路", "光明街", "幸福路",
           "工业园", "火车站", "长途汽车站", "步行街", "农贸市场", "滨江路", "花园路", "青年路", "文化路"]
PLACES = ["仓库门口", "网吧", "小区停车场", "烧烤店", "KTV包间", "超市", "出租屋", "工地", "加油站", "快递驿站", "宾馆房间",
          "洗浴中心", "公交站", "地下车库", "棋牌室", "麻将馆", "银行门口", "商场三楼", "修车铺", "菜市场"]
ITEMS = ["手机", "银行卡", "电动车", "笔记本电脑", "金项链", "现金", "摩托车", "钱包", "身份证", "苹果手机", "自行车",
         "电瓶", "烟酒", "茅台酒", "黄金手镯", "车钥匙", "充电宝", "电缆线", "监控硬盘", "U盾"]
ACTS = ["盗窃", "诈骗", "殴打", "抢夺", "敲诈勒索", "寻衅滋事", "故意伤害", "非法拘禁", "开设赌场", "贩卖毒品", "转账",
        "帮助信息网络犯罪活动", "掩饰隐瞒犯罪所得", "醉酒驾驶", "非法吸收公众存款", "聚众斗殴"]
APPS = ["微信", "支付宝", "QQ", "抖音", "拼多多", "闲鱼", "银行APP", "云闪付"]
RELATIONS = ["朋友", "同事", "老乡", "表哥", "前女友", "网友", "房东", "老板", "邻居", "同学"]
TIMES = ["凌晨两点", "凌晨三点多", "早上七点", "上午十点", "中午十二点", "下午三点左右", "傍晚六点", "晚上八点多",
         "晚上十点", "半夜十一点多"]
QUESTIONS = [
    "你把{day}{time}在{place}发生的事情详细讲一下",
    "你和{name}是什么关系",
    "{name}是你的{relation}吗",
    "你是怎么认识{name}的",
    "那个{item}现在在哪里",
    "你通过{app}给{name}转了多少钱",
    "{day}{time}你在什么地方",
    "你为什么要去{district}{street}的{place}",
    "当时还有谁在场",
    "你们一共拿了多少{item}",
    "这些{item}你卖给谁了，卖了多少钱",
    "你知道{act}是违法的吗",
    "你对{act}的事实有什么要说的",
    "你的{app}账号是多少",
    "{name}在{act}中起什么作用",
    "你说的这些是否属实",
    "你有没有受到打骂或者威胁",
    "你身上的伤是怎么来的",
    "你还有什么要补充的吗",
    "现在依法对你进行讯问，这是犯罪嫌疑人诉讼权利义务告知书，你看清楚了吗",
    "你是否申请回避",
    "你应当如实回答我们的提问，对与本案无关的问题有拒绝回答的权利，你听清楚了吗",
    "如实供述自己的罪行可以从轻处罚，认罪认罚可以依法从宽处理，你明白了吗",
    "以上笔录你看一下，和你说的是否一致",
    "你的身份证号码是多少，现在住在哪里",
]
ANSWERS = [
    "{day}{time}我在{district}{street}的{place}等{name}",
    "{name}是我的{relation}，认识{years}年了",
    "我通过{app}给他转了{amount}",
    "那个{item}我放在{place}了",
    "我们一共拿了{count}个{item}，在{district}卖了{amount}",
    "是{name}叫我去的，我不知道他要{act}",
    "当时{name}和{name2}都在{place}",
    "我没有{act}，钱是{name}借给我的",
    "看清楚了",
    "听清楚了",
    "明白了",
    "不申请回避",
    "属实",
    "没有，你们对我挺好的",
    "我记不太清楚了，大概是{time}",
    "我身上的伤是{day}在{place}摔的",
    "我的{app}账号是{phone}",
    "{item}是在{street}捡的，我不知道是偷来的",
    "我愿意认罪认罚，我错了",
    "我住在{district}{street}{count}号，身份证号码我记不清了",
    "没有要补充的了",
    "那天我喝了酒，{name2}先动的手",
    "钱我已经还了{amount}，剩下的还没还",
]
AMOUNTS = ["三百元", "五百块", "两千元", "五千元", "八千多", "一万元", "三万元", "五万块", "十二万元", "二十多万"]
CHINESE_DIGITS = "零一二三四五六七八九"


class DialogueGenerator:
    """Questions (讯问人) and answers (被讯问人) from templates and word lists, reproducible from a seed."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def name(self) -> str:
        return self.random.choice(SURNAMES) + self.random.choice(GIVEN)

    def slots(self) -> dict[str, str]:
        r = self.random
        month, day = r.randint(1, 12), r.randint(1, 28)
        return {
            "name": self.name(), "name2": self.name(), "relation": r.choice(RELATIONS), "item": r.choice(ITEMS),
            "place": r.choice(PLACES), "district": r.choice(DISTRICTS) + "区", "street": r.choice(STREETS),
            "act": r.choice(ACTS), "app": r.choice(APPS), "time": r.choice(TIMES), "amount": r.choice(AMOUNTS),
            "day": r.choice(["那天", "昨天", "上周五", f"{month}月{day}号", f"今年{month}月{day}日"]),
            "years": r.choice("两三四五六七八"), "count": str(r.randint(2, 60)),
            "phone": "1" + "".join(r.choice(CHINESE_DIGITS) for _ in range(4)),
        }

    def line(self, role: str) -> str:
        template = self.random.choice(QUESTIONS if role == "讯问人" else ANSWERS)
        return template.format(**self.slots())

    def query(self) -> str:
        """One to three words a user would search for: names, places, items, acts, amounts, phrases."""
        r = self.random
        pools = [[self.name()], PLACES, ITEMS, ACTS, APPS, AMOUNTS, [d + "区" for d in DISTRICTS], STREETS,
                 ["告知书", "回避", "认罪认罚", "如实回答", "属实", "转账", "身份证", "打骂", "受伤", "喝了酒"]]
        return " ".join(r.choice(r.choice(pools)) for _ in range(r.choice((1, 1, 2, 2, 3))))


def build(home: Path, utterances: int, *, seed: int = SEED) -> dict:
    """Create the store in `home` and fill it; return the build figures and who to search as."""
    started = time.perf_counter()
    with Store.open(home) as store:
        accounts = {"admin": ("admin", "默认单位"), "supervisor": ("supervisor", "第1办案中心"),
                    "officer": ("officer", "第1基层单位")}
        connection = sqlite3.connect(str(home / "bilu.db"))
        connection.execute("PRAGMA synchronous = NORMAL")
        centre_ids, unit_ids = _insert_units(connection)
        for name, (role, unit) in accounts.items():
            store.add_user(name, role=role, unit=unit, password="bench-password-1")
        generator = DialogueGenerator(seed)
        sessions = max(1, round(utterances / UTTERANCES_PER_SESSION))
        written, session_no = 0, 0
        segment_s = 0.0
        while written < utterances:
            batch = min(BATCH_SESSIONS, sessions - session_no) if session_no < sessions else 1
            connection.execute("BEGIN")
            for _ in range(batch):
                count = min(UTTERANCES_PER_SESSION, utterances - written)
                segment_s += _insert_session(connection, generator, session_no, sessions, unit_ids, count)
                written += count
                session_no += 1
                if written >= utterances:
                    break
            connection.execute("COMMIT")
            if session_no % 10_000 < BATCH_SESSIONS:
                print(f"  {written:>9,} utterances  {time.perf_counter() - started:7.1f} s", flush=True)
        connection.execute("PRAGMA optimize")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
    build_s = time.perf_counter() - started
    return {"utterances": written, "sessions": session_no, "build_s": round(build_s, 1),
            "segmentation_s": round(segment_s, 1), "centre_ids": centre_ids, "unit_ids": unit_ids}


def session_start(session_no: int, sessions: int, r: random.Random) -> str:
    """When the `session_no`-th of `sessions` sessions started: spread over DAYS in the order the sessions are
    created, as a real store fills (a later session, a later start), at a random moment of its share of the days.
    Random starts would put an old date range's lines among the newest ones, which a real store never does."""
    share_s = DAYS * 86_400 / max(sessions, 1)
    start = datetime.combine(FIRST_DAY, datetime.min.time(), timezone.utc) + timedelta(
        seconds=(session_no + r.random()) * share_s)
    return start.isoformat(timespec="milliseconds")


def _insert_units(connection: sqlite3.Connection) -> tuple[list[int], list[int]]:
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    connection.execute("BEGIN")
    centre_ids = [
        connection.execute("INSERT INTO units (name, level, parent_id, created_at) VALUES (?, 'centre', 1, ?)",
                           [f"第{i + 1}办案中心", now]).lastrowid
        for i in range(CENTRES)
    ]
    unit_ids = [
        connection.execute("INSERT INTO units (name, level, parent_id, created_at) VALUES (?, 'unit', ?, ?)",
                           [f"第{i + 1}基层单位", centre_ids[i % CENTRES], now]).lastrowid
        for i in range(UNITS)
    ]
    connection.execute("COMMIT")
    return centre_ids, unit_ids


def _insert_session(connection: sqlite3.Connection, generator: DialogueGenerator, session_no: int, sessions: int,
                    unit_ids: list[int], count: int) -> float:
    """One session (and its case, every SESSIONS_PER_CASE sessions) with `count` utterances; returns the
    seconds spent segmenting."""
    r = generator.random
    case_no = f"BENCH-{session_no // SESSIONS_PER_CASE:07d}"
    created_at = session_start(session_no, sessions, r)
    if session_no % SESSIONS_PER_CASE == 0:
        connection.execute("INSERT INTO cases (case_no, title, created_at, unit_id) VALUES (?, ?, ?, ?)",
                           [case_no, f"{r.choice(ACTS)}案", created_at, r.choice(unit_ids)])
    case_id = connection.execute("SELECT id FROM cases WHERE case_no = ?", [case_no]).fetchone()[0]
    duration_ms = count * 9_000
    session_id = connection.execute(
        "INSERT INTO sessions (case_id, room, kind, status, source_name, audio_path, audio_sha256, audio_bytes,"
        " duration_ms, sample_rate, channels, diarizer, model, options_json, created_at, finished_at,"
        " transcribed_ms) VALUES (?, ?, 'file', 'done', 'x.wav', 'audio/x.wav', ?, 1, ?, 16000, 1, 'channel',"
        " 'small', '{}', ?, ?, ?)",
        [case_id, f"{r.randint(1, 6)}号讯问室", "0" * 64, duration_ms, created_at, created_at, duration_ms],
    ).lastrowid
    connection.executemany("INSERT INTO speakers (session_id, label, role, channel) VALUES (?, ?, ?, ?)",
                           [(session_id, "S1", "讯问人", 0), (session_id, "S2", "被讯问人", 1)])
    rows, segmented, segment_s = [], [], 0.0
    for seq in range(count):
        speaker, role = ("S1", "讯问人") if seq % 2 == 0 else ("S2", "被讯问人")
        text = generator.line(role)
        started = time.perf_counter()
        segmented.append(segment_for_index(text))
        segment_s += time.perf_counter() - started
        rows.append((session_id, seq, seq * 9_000, seq * 9_000 + 8_000, speaker, int(speaker[1]) - 1, text, text))
    first_id = None
    for row, index_text in zip(rows, segmented):
        utterance_id = connection.execute(
            "INSERT INTO utterances (session_id, seq, start_ms, end_ms, speaker, channel, text, original_text,"
            " committed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)", row).lastrowid
        connection.execute("INSERT INTO utterances_fts (rowid, segmented) VALUES (?, ?)", [utterance_id, index_text])
        first_id = first_id or utterance_id
    connection.executemany(
        "INSERT INTO findings (session_id, seq, rule_key, title, status, utterance_ids_json, start_ms, evidence,"
        " score, basis, detail, checked_at) VALUES (?, ?, ?, ?, ?, ?, ?, '', 1.0, '', '', ?)",
        [(session_id, seq, key, key, status, "[]" if status == "missing" else f"[{first_id}]",
          None if status == "missing" else 0, created_at)
         for seq, key in enumerate(RULE_KEYS)
         for status in ["missing" if r.random() < MISSING_RATE else "satisfied"]],
    )
    return segment_s


def measure(home: Path, *, queries: int, seed: int = SEED) -> dict:
    """p50/p95 of search_visible per user and filter, over the same generated queries."""
    generator = DialogueGenerator(seed + 1)
    texts = [generator.query() for _ in range(queries)]
    with Store.open(home) as store:
        scopes = {
            "admin (all)": Scope("all"),
            "supervisor (centre and below)": Scope("below", store.unit("第1办案中心")["id"]),
            "officer (one unit)": Scope("unit", store.unit("第1基层单位")["id"]),
        }
        filters = {
            "none": SearchFilters(),
            "role 被讯问人": SearchFilters(role="被讯问人"),
            "date range 2025 Q1": SearchFilters(date_from=date(2025, 1, 1), date_to=date(2025, 3, 31)),
            "missing any": SearchFilters(missing="any"),
        }
        for text in texts[:20]:  # warm-up: page cache, jieba, prepared statements
            store.search_visible(text, scopes["admin (all)"], limit=50)
        rows = []
        for scope_name, scope in scopes.items():
            for filter_name, search_filter in filters.items():
                times_ms, hits = [], 0
                for text in texts:
                    started = time.perf_counter()
                    hits += len(store.search_visible(text, scope, search_filter, limit=50))
                    times_ms.append((time.perf_counter() - started) * 1000)
                row = {"user": scope_name, "filter": filter_name, "queries": len(texts),
                       "p50_ms": round(statistics.median(times_ms), 1),
                       "p95_ms": round(statistics.quantiles(times_ms, n=20)[-1], 1),
                       "max_ms": round(max(times_ms), 1), "mean_hits": round(hits / len(texts), 1)}
                rows.append(row)
                print(f"  {scope_name:30s} {filter_name:20s} p50 {row['p50_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms"
                      f"  max {row['max_ms']:7.1f} ms  hits/query {row['mean_hits']}", flush=True)
        slowest = sorted(texts, key=lambda t: _time_one(store, t, scopes["admin (all)"]))[-5:]
    return {"rows": rows, "example_queries": texts[:10], "slowest_queries_admin": slowest}


def _time_one(store: Store, text: str, scope: Scope) -> float:
    started = time.perf_counter()
    store.search_visible(text, scope, limit=50)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200, help="queries per user and filter")
    parser.add_argument("--home", type=Path, help="store folder (default: a temporary one, deleted after)")
    parser.add_argument("--reuse", action="store_true", help="search the store already in --home; do not build")
    parser.add_argument("--name", default="search", help="results file name under bench/results/")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bilu-search-") as scratch:
        home = args.home or Path(scratch)
        home.mkdir(parents=True, exist_ok=True)
        built = None
        if not args.reuse:
            print(f"building a store of {args.utterances:,} utterances in {home}")
            built = build(home, args.utterances)
            print(f"built in {built['build_s']} s ({built['segmentation_s']} s of it segmenting)")
        db_bytes = sum(p.stat().st_size for p in home.glob("bilu.db*"))
        with closing(sqlite3.connect(str(home / "bilu.db"))) as connection:
            counted = connection.execute("SELECT COUNT(*) FROM utterances").fetchone()[0]
        print(f"database: {db_bytes / 2**20:.0f} MiB for {counted:,} utterances")
        print(f"query times over {args.queries} queries (limit 50), per user and filter:")
        measured = measure(home, queries=args.queries)
    rows = measured["rows"]
    worst_p95 = max(row["p95_ms"] for row in rows)
    results = {
        "machine": machine(),
        "utterances": counted,
        "sessions": built["sessions"] if built else None,
        "centres": CENTRES,
        "units": UNITS,
        "build_s": built["build_s"] if built else None,
        "segmentation_s": built["segmentation_s"] if built else None,
        "database_mib": round(db_bytes / 2**20, 1),
        "words_stored": False,
        "queries_per_row": args.queries,
        "limit": 50,
        "rows": rows,
        "worst_p95_ms": worst_p95,
        "example_queries": measured["example_queries"],
        "slowest_queries_admin": measured["slowest_queries_admin"],
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "goal": {"p95_ms_max": GOAL_P95_MS},
    }
    print(f"worst p95: {worst_p95} ms (goal <= {GOAL_P95_MS} ms)")
    write_results(args.name, results)


if __name__ == "__main__":
    main()
