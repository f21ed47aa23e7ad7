"""kill -9 at a random moment of `bilu transcribe FILE` or `bilu record --file FILE`, then `bilu recover`, and what
must hold afterwards. Shared by tests/api/test_crash_batch.py, tests/api/test_crash_live.py and bench/crash.py.

Everything is real: the `bilu` command in a child process with its own BILU_HOME, SIGKILL (nothing in the child
runs after it), the SQLite file as the kill left it, the recovery command, `bilu verify`. Kill moments are
seeded: run i of n is killed at a moment drawn uniformly from the i-th n-th of a full run's length (measured by
`calibrate` on this machine, now), so n runs spread over the whole run (start-up, diarization or recording,
model loading, transcription and storing, checking) and any one moment is as likely as any other.
"""
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from capture import decode_file, read_segments, recover_segments
from capture.recorder import file_sha256
from cases import Store
from transcribe.metrics import character_error_rate

KINDS = ("batch", "live")
SEAT_ROLES = "讯问人,被讯问人"
# Two utterances of one speaker sharing more than this much time are the same speech stored twice.
DUPLICATE_OVERLAP_S = 0.1
# At most this much of what was played before the kill may be missing from a live recording's archive.
MAX_LIVE_LOSS_S = 1.0


@dataclass
class Calibration:
    """An uninterrupted run: how long it takes here and now, and the transcript it gives."""

    kind: str
    clip: Path
    total_s: float
    session_id: int
    text: str
    utterances: int
    verify_exit: int


@dataclass
class CrashRun:
    """One kill and its recovery: what was stored, what was lost, what the commands answered."""

    kind: str
    seed: int
    clip: str
    killed_at_s: float  # after the child process was started (or when it ended, if it ended first)
    killed: bool  # False: the run ended by itself before the moment drawn
    stage: str  # what the child was doing when killed (from its log and what it had stored)
    session_id: int | None = None  # None: killed before any session existed (nothing was promised)
    status_after_kill: str | None = None
    status: str | None = None  # after `bilu recover`
    utterances_before: int = 0
    utterances_after: int = 0
    audio_lost_s: float = 0.0  # batch: the kept copy differs from the source (its whole length); live: see below
    audio_detail: str = ""
    integrity_after_kill: str = ""
    integrity_after_recover: str = ""
    recover_exit: int | None = None
    recover_s: float = 0.0
    recover_output: str = ""
    verify_exit: int | None = None
    verify_output: str = ""
    duplicates: list = field(default_factory=list)  # pairs of utterance ids (same speaker, overlapping spans)
    transcript_end_s: float | None = None  # where the last utterance ends
    audio_end_s: float = 0.0  # how much audio the session holds
    cer_vs_uninterrupted: float | None = None  # batch: the recovered transcript against the calibration run's

    @property
    def recovered(self) -> bool:
        return self.session_id is None or self.status in ("recovered", "done")

    def as_record(self) -> dict:
        record = asdict(self)
        record["recovered"] = self.recovered
        return record


def bilu_env(home: Path) -> dict:
    return {**os.environ, "BILU_HOME": str(home), "BILU_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}


def bilu(home: Path, *args, timeout_s: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api", *map(str, args)], env=bilu_env(home), capture_output=True,
                          text=True, timeout=timeout_s)


def command_for(kind: str, clip: Path, case_no: str) -> list[str]:
    if kind == "batch":
        return ["transcribe", str(clip), "--case", case_no, "--seat-roles", SEAT_ROLES]
    if kind == "live":
        return ["record", "--file", str(clip), "--case", case_no, "--room", "一号讯问室",
                "--seat-roles", SEAT_ROLES]
    raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")


class Child:
    """`bilu ...` in a child process; its output lines are read as they come, each with when it came."""

    def __init__(self, home: Path, args: list[str]):
        self.started = time.monotonic()
        self.process = subprocess.Popen([sys.executable, "-m", "api", *args], env=bilu_env(home), text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.stdout: list[tuple[float, str]] = []
        self.stderr: list[tuple[float, str]] = []
        self._readers = [threading.Thread(target=self._read, args=(stream, lines), daemon=True)
                         for stream, lines in ((self.process.stdout, self.stdout), (self.process.stderr, self.stderr))]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, lines: list) -> None:
        for line in stream:
            lines.append((time.monotonic() - self.started, line.rstrip("\n")))

    def kill_at(self, after_s: float) -> tuple[float, bool]:
        """SIGKILL `after_s` seconds after the start, unless it ended first; returns (when, whether killed)."""
        try:
            self.process.wait(timeout=max(0.0, self.started + after_s - time.monotonic()))
            killed = False
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGKILL)
            killed = True
        at_s = time.monotonic() - self.started
        self.finish(timeout_s=30)
        return at_s, killed

    def kill_when_stored(self, home: Path, utterances: int, *, timeout_s: float = 600) -> tuple[float, bool]:
        """SIGKILL as soon as the database holds `utterances` utterances (polled every 10 ms), unless it ended first."""
        deadline = time.monotonic() + timeout_s
        while self.process.poll() is None and time.monotonic() < deadline:
            if _stored_utterances(home) >= utterances:
                self.process.send_signal(signal.SIGKILL)
                at_s = time.monotonic() - self.started
                self.finish(timeout_s=30)
                return at_s, True
            time.sleep(0.01)
        return self.kill_at(0.0)

    def finish(self, *, timeout_s: float) -> int:
        code = self.process.wait(timeout=timeout_s)
        for reader in self._readers:  # everything the child wrote before it ended is in the pipes
            reader.join(10)
        return code

    def log(self) -> str:
        return "\n".join(line for _, line in self.stderr)


def calibrate(kind: str, clip: Path, home: Path) -> Calibration:
    """One uninterrupted run of `kind` on `clip` in a fresh `home`: its length and its transcript."""
    child = Child(home, command_for(kind, clip, "CAL-1"))
    code = child.finish(timeout_s=900)
    total_s = time.monotonic() - child.started
    if code != 0:
        raise RuntimeError(f"the uninterrupted {kind} run failed ({code}): {child.log()[-2000:]}")
    with Store.open(home) as store:
        session = store.list_sessions()[0]
        utterances = store.utterances(session["id"])
    verified = bilu(home, "verify", session["id"])
    return Calibration(kind=kind, clip=clip, total_s=total_s, session_id=session["id"],
                       text="".join(u["text"] for u in utterances), utterances=len(utterances),
                       verify_exit=verified.returncode)


def kill_moment(seed: int, *, index: int, runs: int, total_s: float) -> float:
    """Uniform over the index-th of `runs` equal parts of a run lasting `total_s` (seeded)."""
    part_s = total_s / runs
    return part_s * index + random.Random(seed).uniform(0.0, part_s)


def crash_and_recover(kind: str, clip: Path, home: Path, *, seed: int, kill_after_s: float | None = None,
                      kill_after_utterances: int | None = None, reference: Calibration | None = None) -> CrashRun:
    """Start `kind` on `clip` in a fresh `home`, SIGKILL it after `kill_after_s` (or once it has stored
    `kill_after_utterances`), run `bilu recover` and `bilu verify`, and gather what must hold (the tests assert
    on it, the benchmark tabulates it)."""
    child = Child(home, command_for(kind, clip, f"CRASH-{seed}"))
    if kill_after_utterances is not None:
        killed_at_s, killed = child.kill_when_stored(home, kill_after_utterances)
    else:
        killed_at_s, killed = child.kill_at(kill_after_s)
    run = CrashRun(kind=kind, seed=seed, clip=clip.name, killed_at_s=round(killed_at_s, 2), killed=killed, stage="")
    run.integrity_after_kill = integrity(home)
    with Store.open(home) as store:
        sessions = store.list_sessions()
        if sessions:
            session = sessions[0]
            run.session_id = session["id"]
            run.status_after_kill = session["status"]
            run.utterances_before = len(store.utterances(session["id"]))
        run.stage = (_batch_stage if kind == "batch" else _live_stage)(store, sessions, child, killed_at_s, clip)

    started = time.monotonic()
    recovered = bilu(home, "recover")
    run.recover_s = round(time.monotonic() - started, 2)
    run.recover_exit, run.recover_output = recovered.returncode, (recovered.stdout + recovered.stderr)[-2000:]
    run.integrity_after_recover = integrity(home)
    if run.session_id is None:
        return run
    with Store.open(home) as store:
        session = store.get_session(run.session_id)
        utterances = store.utterances(run.session_id)
    run.status = session["status"]
    run.utterances_after = len(utterances)
    run.duplicates = duplicates(utterances)
    run.transcript_end_s = max((u["end_s"] for u in utterances), default=None)
    if kind == "batch":
        _check_batch_audio(run, home, session, clip)
        if reference is not None:
            run.cer_vs_uninterrupted = round(character_error_rate(reference.text,
                                                                  "".join(u["text"] for u in utterances)), 3)
    else:
        _check_live_audio(run, home, session, clip, child, killed_at_s)
    verified = bilu(home, "verify", run.session_id)
    run.verify_exit, run.verify_output = verified.returncode, (verified.stdout + verified.stderr)[-2000:]
    return run


def integrity(home: Path) -> str:
    """SQLite's own check of the database file as it is on disk ("ok"), or "absent"."""
    if not (home / "bilu.db").is_file():
        return "absent"  # killed before the store was first opened
    with sqlite3.connect(home / "bilu.db") as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def duplicates(utterances: list[dict]) -> list[tuple[int, int]]:
    """Pairs of utterances of one speaker whose spans overlap: speech stored twice (seats talking over each
    other are different speakers, and may overlap)."""
    found = []
    ordered = sorted(utterances, key=lambda u: (u["start_s"], u["end_s"]))
    for i, first in enumerate(ordered):
        for second in ordered[i + 1:]:
            if second["start_s"] >= first["end_s"]:
                break
            shared_s = min(first["end_s"], second["end_s"]) - second["start_s"]
            if first["speaker"] == second["speaker"] and shared_s > DUPLICATE_OVERLAP_S:
                found.append((first["id"], second["id"]))
    return found


def _stored_utterances(home: Path) -> int:
    try:
        with sqlite3.connect(f"file:{home / 'bilu.db'}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM utterances").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet, or its schema not yet
        return 0


def _check_batch_audio(run: CrashRun, home: Path, session: dict, clip: Path) -> None:
    source = file_sha256(clip)
    kept = home / session["audio_path"]
    run.audio_end_s = session["duration_s"]
    if kept.is_file() and file_sha256(kept) == source == session["audio_sha256"]:
        run.audio_lost_s, run.audio_detail = 0.0, "kept copy identical to the source (sha256)"
    else:
        run.audio_lost_s, run.audio_detail = session["duration_s"], "kept copy missing or different from the source"


def _check_live_audio(run: CrashRun, home: Path, session: dict, clip: Path, child: Child, killed_at_s: float) -> None:
    """Audio lost = what had been played when the kill came (from the replay's start, which is when the child
    printed the session id) minus what the archive holds; and what it holds must be what was played."""
    played = decode_file(clip)
    replay_started_s = child.stdout[0][0] if child.stdout else killed_at_s
    played_s = min(max(0.0, killed_at_s - replay_started_s), played.duration_s)
    run.audio_end_s = session["duration_s"]
    run.audio_lost_s = round(max(0.0, played_s - session["duration_s"]), 2)
    segments = recover_segments(home / session["audio_path"]) if (home / session["audio_path"]).is_dir() else []
    if not segments:
        run.audio_detail = f"no segment kept; {played_s:.1f} s had been played"
        return
    kept = read_segments(segments, sample_rate=16000).samples
    frames = min(kept.shape[0], played.samples.shape[0])
    difference = float(abs(kept[:frames] - played.samples[:frames]).max()) if frames else 0.0
    run.audio_detail = (f"{played_s:.1f} s played before the kill, {session['duration_s']:.1f} s kept, "
                        f"largest sample difference {difference:.4f}")
    if difference > 1e-2:  # 16-bit storage differs by ~3e-5: more is other audio
        run.audio_lost_s = max(run.audio_lost_s, played_s)
        run.audio_detail += " (the archive is not what was played)"


def _batch_stage(store: Store, sessions: list[dict], child: Child, killed_at_s: float, clip: Path) -> str:
    """What `bilu transcribe` was doing, from what it had logged and stored (both happen before the kill)."""
    if not sessions:
        return "starting (imports, copying and decoding the file)"
    session = sessions[0]
    if session["status"] != "transcribing":
        return "finished"
    if store.findings(session["id"]):
        return "checking"
    if store.utterances(session["id"]):
        return "transcribing and storing"
    if "Processing audio" in child.log():  # faster-whisper's first line: the model is loaded
        return "transcribing (no utterance yet)"
    if store.speaker_turns(session["id"]):
        return "loading the model"
    return "diarizing"


def _live_stage(store: Store, sessions: list[dict], child: Child, killed_at_s: float, clip: Path) -> str:
    if not sessions:
        return "starting (imports, recovery, loading the model)"
    session = sessions[0]
    if session["status"] != "transcribing":
        return "finished"
    replay_started_s = child.stdout[0][0] if child.stdout else killed_at_s
    if killed_at_s - replay_started_s < decode_file(clip).duration_s:
        return "recording"
    return "closing (last words, playback copy, check)"


__all__ = ["Calibration", "CrashRun", "KINDS", "MAX_LIVE_LOSS_S", "bilu", "calibrate", "crash_and_recover",
           "duplicates", "integrity", "kill_moment"]
