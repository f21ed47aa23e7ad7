"""Search at city scale: N generated utterances in PostgreSQL (BILU_DATABASE_URL), SQLite beside it at N/10.

The search part of the scale benchmarks (issue 18). The city: 19 case-handling centres and 430 grassroots units
under one city bureau, cases of ~3 sessions, ~20 utterances a session, speaker roles and procedural findings.
Sessions start over 900 days in the order they are created (bench/search.py session_start), as a real store fills:
the oldest lines have the lowest ids, so an old date range is the far end of a walk newest first.
Text is varied and realistic: a pool of interrogation lines (bench/search.py's DialogueGenerator: names,
places, items, acts, amounts, dates from word lists) is generated and segmented with the store's own
segmenter once (cases.search.segment_for_index), and each utterance is one or two pool lines joined, so every
row is a real line and no row costs a segmentation. PostgreSQL is filled with COPY straight into the store's
tables (words are not stored: search never reads them), the GIN index built after the load; SQLite is built
by bench/search.py's builder. Every query goes through `Store.search_visible`, the method behind GET /search,
timed per call (SQL, rows and snippets), at city scope (the city bureau's supervisor: every unit), centre scope
(a centre's supervisor: its units) and officer scope (one grassroots unit), with and without filters.

Prints the figures and writes bench/results/scale_search.json (p50/p95 per scope and filter, build times,
storage per 1,000 utterances on each backend).
Run: python bench/scale_search.py [--utterances 10000000] [--sqlite-utterances N/10] [--queries 50]
     [--database-url postgresql://…]   (default: a temporary PostgreSQL 15 server, as the tests start one)
"""
import argparse
import os
import random
import statistics
import tempfile
import time
from contextlib import closing
from datetime import date, datetime, timezone
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
from common import machine, peak_rss_mb, write_results
from search import (ACTS, CENTRES, MISSING_RATE, RULE_KEYS, SESSIONS_PER_CASE, UNITS, UTTERANCES_PER_SESSION,
                    DialogueGenerator, build as build_sqlite, session_start)

from cases import Scope, SearchFilters, Store
from cases.search import segment_for_index
from cases.search_candidates import RANKED_CANDIDATES

SEED = 20261203
POOL_LINES = 60_000
"""Distinct lines per role, each segmented once (one or two are joined per utterance)."""
GOAL_P95_MS = 200.0
PASSWORD = "bench-password-1"
SEARCH_INDEXES = {"utterances_fts_words": "USING GIN (words)",
                  "utterances_fts_unit_newest": "(unit_id, session_created_at, rowid)",
                  "utterances_fts_newest": "(session_created_at, rowid)", "utterances_fts_session": "(session_id)"}
"""The search index's own indexes (cases/pg_ddl.py): dropped for the load, built after it."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def make_pool(generator: DialogueGenerator, lines: int) -> dict[str, list[tuple[str, str]]]:
    """(text, segmented) per role."""
    return {role: [(text, segment_for_index(text)) for text in (generator.line(role) for _ in range(lines))]
            for role in ("讯问人", "被讯问人")}


def build_postgres(url: str, home: Path, utterances: int, *, pool_lines: int) -> dict:
    """Fill the PostgreSQL store at `url` with COPY; return the build figures."""
    import psycopg

    started = time.perf_counter()
    Store.open(home, database_url=url).close()  # the schema, through the store's own migrations
    generator = DialogueGenerator(SEED)
    pool = make_pool(generator, pool_lines)
    pooled_s = time.perf_counter() - started
    print(f"  pool of {2 * pool_lines:,} lines segmented in {pooled_s:.1f} s", flush=True)
    r = random.Random(SEED)
    now = _now()
    with psycopg.connect(url, autocommit=True) as db:
        with db.transaction():
            centre_ids = [db.execute("INSERT INTO units (name, level, parent_id, created_at) VALUES (%s, 'centre', 1,"
                                     " %s) RETURNING id", [f"第{i + 1}办案中心", now]).fetchone()[0]
                          for i in range(CENTRES)]
            unit_ids = [db.execute("INSERT INTO units (name, level, parent_id, created_at) VALUES (%s, 'unit', %s, %s)"
                                   " RETURNING id", [f"第{i + 1}基层单位", centre_ids[i % CENTRES], now]).fetchone()[0]
                        for i in range(UNITS)]
        for index in SEARCH_INDEXES:  # built once after the load: far faster than row by row
            db.execute(f"DROP INDEX {index}")
        sessions = max(1, -(-utterances // UTTERANCES_PER_SESSION))
        utterance_id, written = 0, 0
        with db.transaction(), db.cursor() as cursor:
            with cursor.copy("COPY cases (id, case_no, title, created_at, unit_id) FROM STDIN") as copy:
                for case in range(-(-sessions // SESSIONS_PER_CASE)):
                    copy.write_row((case + 1, f"BENCH-{case:08d}", f"{r.choice(ACTS)}案", now, r.choice(unit_ids)))
            session_rows = []
            with cursor.copy("COPY sessions (id, case_id, room, kind, status, source_name, audio_path, audio_sha256,"
                             " audio_bytes, duration_ms, sample_rate, channels, diarizer, model, options_json,"
                             " created_at, finished_at, transcribed_ms) FROM STDIN") as copy:
                for session in range(sessions):
                    created_at = session_start(session, sessions, r)  # in creation order, as a store fills
                    count = min(UTTERANCES_PER_SESSION, utterances - session * UTTERANCES_PER_SESSION)
                    session_rows.append(count)
                    copy.write_row((session + 1, session // SESSIONS_PER_CASE + 1, f"{r.randint(1, 6)}号讯问室",
                                    "file", "done", "x.wav", "audio/x.wav", "0" * 64, 1, count * 9_000, 16000, 1,
                                    "channel", "small", "{}", created_at, created_at, count * 9_000))
            with cursor.copy("COPY speakers (session_id, label, role, channel) FROM STDIN") as copy:
                for session in range(sessions):
                    copy.write_row((session + 1, "S1", "讯问人", 0))
                    copy.write_row((session + 1, "S2", "被讯问人", 1))
            with cursor.copy("COPY findings (session_id, seq, rule_key, title, status, utterance_ids_json, start_ms,"
                             " evidence, score, basis, detail, checked_at) FROM STDIN") as copy:
                for session in range(sessions):
                    for seq, key in enumerate(RULE_KEYS):
                        status = "missing" if r.random() < MISSING_RATE else "satisfied"
                        copy.write_row((session + 1, seq, key, key, status, "[]", None, "", 1.0, "", "", now))
        print(f"  {sessions:,} sessions written in {time.perf_counter() - started:.1f} s", flush=True)
        loaded = time.perf_counter()
        batch_sessions = 10_000
        for first in range(0, sessions, batch_sessions):  # one transaction per 200,000 utterances
            rows, index_rows = [], []
            for session in range(first, min(first + batch_sessions, sessions)):
                for seq in range(session_rows[session]):
                    utterance_id += 1
                    role = "讯问人" if seq % 2 == 0 else "被讯问人"
                    lines = [r.choice(pool[role]) for _ in range(1 if r.random() < 0.7 else 2)]
                    text = "，".join(line[0] for line in lines)
                    rows.append((utterance_id, session + 1, seq, seq * 9_000, seq * 9_000 + 8_000,
                                 "S1" if seq % 2 == 0 else "S2", seq % 2, text, text, 1))
                    index_rows.append((utterance_id, " ".join(line[1] for line in lines)))
            with db.transaction(), db.cursor() as cursor:
                with cursor.copy("COPY utterances (id, session_id, seq, start_ms, end_ms, speaker, channel, text,"
                                 " original_text, committed) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                with cursor.copy("COPY utterances_fts (rowid, segmented) FROM STDIN") as copy:
                    for row in index_rows:
                        copy.write_row(row)
            written = utterance_id
            if (first // batch_sessions) % 5 == 0 or written == utterances:
                rate = written / (time.perf_counter() - loaded)
                print(f"  {written:>11,} utterances  {time.perf_counter() - started:8.1f} s  ({rate:,.0f}/s)",
                      flush=True)
        copied_s = time.perf_counter() - started
        db.execute("SET maintenance_work_mem = '512MB'")
        for index, definition in SEARCH_INDEXES.items():
            db.execute(f"CREATE INDEX {index} ON utterances_fts {definition}")
        indexed_s = time.perf_counter() - started - copied_s
        print(f"  search indexes built in {indexed_s:.1f} s", flush=True)
        for table, column in (("cases", "id"), ("sessions", "id"), ("utterances", "id"), ("speakers", "id")):
            db.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), (SELECT MAX(id) FROM {table}))")
        db.execute("VACUUM ANALYZE")
    with Store.open(home, database_url=url) as store:
        store.add_user("city", role="supervisor", unit="默认单位", password=PASSWORD)
        store.add_user("centre", role="supervisor", unit="第1办案中心", password=PASSWORD)
        store.add_user("officer", role="officer", unit="第1基层单位", password=PASSWORD)
    return {"utterances": written, "sessions": sessions, "build_s": round(time.perf_counter() - started, 1),
            "pool_segmentation_s": round(pooled_s, 1), "copy_s": round(copied_s, 1),
            "gin_index_s": round(indexed_s, 1)}


def postgres_storage(url: str) -> dict:
    import psycopg

    with psycopg.connect(url) as db:
        total = db.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        per_table = dict(db.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
            " ORDER BY 2 DESC LIMIT 8").fetchall())
        count = db.execute("SELECT COUNT(*) FROM utterances").fetchone()[0]
    return {"database_bytes": total, "utterances": count, "largest_tables_bytes": per_table}


def measure(home: Path, url: str | None, *, queries: int) -> list[dict]:
    """p50/p95 of search_visible per scope and filter, over the same generated queries."""
    generator = DialogueGenerator(SEED + 1)
    texts = [generator.query() for _ in range(queries)]
    rows = []
    with Store.open(home, database_url=url) as store:
        scopes = {
            "city (city supervisor: all 449 units)": Scope("below", store.unit("默认单位")["id"]),
            "centre (centre supervisor)": Scope("below", store.unit("第1办案中心")["id"]),
            "officer (one unit)": Scope("unit", store.unit("第1基层单位")["id"]),
        }
        filters = {
            "none": SearchFilters(),
            "role 被讯问人": SearchFilters(role="被讯问人"),
            "date range 2025 Q1": SearchFilters(date_from=date(2025, 1, 1), date_to=date(2025, 3, 31)),
            # The oldest and the newest quarter of the data (sessions start 2024-01-01 to 2026-06-18, in the order
            # they were created): an old range must not cost a walk over every newer match.
            "old date range 2024 Q1": SearchFilters(date_from=date(2024, 1, 1), date_to=date(2024, 3, 31)),
            "recent date range 2026 Q2": SearchFilters(date_from=date(2026, 4, 1), date_to=date(2026, 6, 30)),
            "missing any": SearchFilters(missing="any"),
        }
        for text in texts[:10]:  # warm-up: caches, jieba
            store.search_visible(text, scopes["officer (one unit)"], limit=50)
        for scope_name, scope in scopes.items():
            for filter_name, search_filter in filters.items():
                times_ms, hits = [], 0
                for text in texts:
                    started = time.perf_counter()
                    hits += len(store.search_visible(text, scope, search_filter, limit=50))
                    times_ms.append((time.perf_counter() - started) * 1000)
                row = {"scope": scope_name, "filter": filter_name, "queries": len(texts),
                       "load_average_1m": round(os.getloadavg()[0], 1),
                       "p50_ms": round(statistics.median(times_ms), 1),
                       "p95_ms": round(statistics.quantiles(times_ms, n=20)[-1], 1),
                       "max_ms": round(max(times_ms), 1), "mean_hits": round(hits / len(texts), 1)}
                rows.append(row)
                print(f"  {scope_name:38s} {filter_name:20s} p50 {row['p50_ms']:8.1f} ms  p95 {row['p95_ms']:8.1f} ms"
                      f"  hits/query {row['mean_hits']}  load {row['load_average_1m']}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=10_000_000, help="utterances in PostgreSQL")
    parser.add_argument("--sqlite-utterances", type=int, help="utterances in SQLite (default: a tenth)")
    parser.add_argument("--queries", type=int, default=50, help="queries per scope and filter")
    parser.add_argument("--pool-lines", type=int, default=POOL_LINES)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: a temporary server)")
    parser.add_argument("--name", default="scale_search", help="results file name under bench/results/")
    args = parser.parse_args()
    sqlite_utterances = args.sqlite_utterances or max(1, args.utterances // 10)

    server = None
    url = args.database_url
    if url is None:
        from tests.servers.postgres import PostgresServer

        server = PostgresServer().start()
        server.admin("CREATE DATABASE bench")
        url = server.url("bench")
    try:
        with tempfile.TemporaryDirectory(prefix="bilu-scale-") as scratch:
            print(f"PostgreSQL: building {args.utterances:,} utterances")
            built_pg = build_postgres(url, Path(scratch) / "pg-home", args.utterances, pool_lines=args.pool_lines)
            storage_pg = postgres_storage(url)
            print(f"  database {storage_pg['database_bytes'] / 2**30:.2f} GiB")
            print(f"query times over {args.queries} queries (limit 50):")
            rows_pg = measure(Path(scratch) / "pg-home", url, queries=args.queries)
            print(f"SQLite: building {sqlite_utterances:,} utterances")
            sqlite_home = Path(scratch) / "sqlite-home"
            built_sqlite = build_sqlite(sqlite_home, sqlite_utterances)
            sqlite_bytes = sum(p.stat().st_size for p in sqlite_home.glob("bilu.db*"))
            rows_sqlite = measure(sqlite_home, None, queries=args.queries)
    finally:
        if server is not None:
            server.stop()
    pg_per_1000 = storage_pg["database_bytes"] / storage_pg["utterances"] * 1000
    sqlite_per_1000 = sqlite_bytes / built_sqlite["utterances"] * 1000
    results = {
        "machine": machine(),
        "note": ("2 cores shared with other work while measured: the load average (each row's load_average_1m) "
                 "was far above 2, so times are upper bounds for this machine"),
        "ranked_candidates": RANKED_CANDIDATES,
        "asked": {"postgresql_utterances": 10_000_000, "sqlite_utterances": 1_000_000},
        "postgresql": {**built_pg, "database_mib": round(storage_pg["database_bytes"] / 2**20, 1),
                       "bytes_per_1000_utterances": round(pg_per_1000),
                       "largest_tables_bytes": storage_pg["largest_tables_bytes"], "rows": rows_pg,
                       "worst_p95_ms": max(row["p95_ms"] for row in rows_pg)},
        "sqlite": {"utterances": built_sqlite["utterances"], "build_s": built_sqlite["build_s"],
                   "database_mib": round(sqlite_bytes / 2**20, 1), "bytes_per_1000_utterances": round(sqlite_per_1000),
                   "words_stored": False, "rows": rows_sqlite,
                   "worst_p95_ms": max(row["p95_ms"] for row in rows_sqlite)},
        "words_stored": False,
        # The pool is segmented once whatever N is; rows and the GIN index grow with N.
        "estimate_10m_postgresql_load_s": round(built_pg["pool_segmentation_s"] + (
            built_pg["copy_s"] - built_pg["pool_segmentation_s"] + built_pg["gin_index_s"])
            * 10_000_000 / max(built_pg["utterances"], 1)),
        "queries_per_row": args.queries,
        "limit": 50,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "goal": {"p95_ms_max": GOAL_P95_MS},
    }
    print(f"PostgreSQL {built_pg['utterances']:,}: worst p95 {results['postgresql']['worst_p95_ms']} ms; "
          f"SQLite {built_sqlite['utterances']:,}: worst p95 {results['sqlite']['worst_p95_ms']} ms "
          f"(goal <= {GOAL_P95_MS} ms)")
    print(f"storage per 1,000 utterances: PostgreSQL {pg_per_1000 / 2**10:.0f} KiB, SQLite {sqlite_per_1000 / 2**10:.0f} KiB"
          " (words not stored)")
    write_results(args.name, results)


if __name__ == "__main__":
    main()
