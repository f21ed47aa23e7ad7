"""The service and a room agent as separate `bilu` processes, each with a BILU_HOME of its own."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from capture.recorder import file_sha256
from cases import Store

ROOM = "一号讯问室"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bilu_env(home: Path, extra: dict | None = None) -> dict:
    return {**os.environ, "BILU_HOME": str(home), "BILU_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1", **(extra or {})}


class Service:
    """`bilu serve` on a fixed port; kill -9 and start again on the same port and home."""

    def __init__(self, home: Path, port: int | None = None, *, env: dict | None = None,
                 name: str = "service") -> None:
        """`env`: settings beyond BILU_HOME (a city node's BILU_DATABASE_URL, BILU_BROKER_URL); `name`: its log
        files' prefix, for several nodes over one home."""
        self.home, self.port = home, port or free_port()
        self.env, self.name = env or {}, name
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout_s: float = 60) -> "Service":
        self.starts += 1
        log = open(self.home.parent / f"{self.name}-{self.starts}.log", "w")
        self.process = subprocess.Popen([sys.executable, "-m", "api", "serve", "--port", str(self.port)],
                                        env=bilu_env(self.home, self.env), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1):
                    return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the service ended ({self.process.returncode}): {self.log()[-3000:]}")
                time.sleep(0.2)
        raise RuntimeError(f"the service did not answer within {timeout_s} s")

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def log(self) -> str:
        return "\n".join((self.home.parent / f"{self.name}-{n}.log").read_text(errors="replace")
                         for n in range(1, self.starts + 1))


class Agent:
    """`bilu agent ...` in a child process; its stdout and stderr lines collected as they come."""

    def __init__(self, home: Path, args: list[str], env: dict) -> None:
        self.home = home
        self.process = subprocess.Popen([sys.executable, "-m", "api", "agent", *map(str, args)],
                                        env=bilu_env(home, env), text=True, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._got_line = threading.Event()
        self._readers = [threading.Thread(target=self._read, args=(s, lines), daemon=True)
                         for s, lines in ((self.process.stdout, self.stdout), (self.process.stderr, self.stderr))]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, lines: list) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))
            self._got_line.set()

    def first_line(self, timeout_s: float = 120) -> str:
        deadline = time.monotonic() + timeout_s
        while not self.stdout and time.monotonic() < deadline and self.process.poll() is None:
            time.sleep(0.05)
        if not self.stdout:
            self.finish(10)
            raise AssertionError(f"the agent printed no session id: {self.log()[-3000:]}")
        return self.stdout[0]

    def finish(self, timeout_s: float) -> int:
        code = self.process.wait(timeout_s)
        for reader in self._readers:
            reader.join(5)
        return code

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.finish(10)

    def log(self) -> str:
        return "\n".join(self.stderr)


def add_room(home: Path, room: str = ROOM, *, unit: str = "默认单位") -> str:
    with Store.open(home) as store:
        store.add_room(room, unit=unit)
        return store.issue_room_token(room)


def agent_segments(agent_home: Path, room: str = ROOM) -> list[tuple[int, str]]:
    """(index, sha256) of the room's copy, read from its files."""
    folders = [p for p in (agent_home / "agent" / room).iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return [(int(p.stem.removeprefix("segment_")), file_sha256(p)) for p in sorted(folders[0].glob("segment_*.wav"))]


def service_segments(home: Path, session_id: int, *, database_url: str | None = None) -> list[tuple[int, str]]:
    """(seq, sha256) of the service's copy, each file hashed again and checked against what the store recorded
    (`database_url`: a city's PostgreSQL store)."""
    with Store.open(home, database_url=database_url) as store:
        stored = store.audio_segments(session_id)
    for segment in stored:
        assert file_sha256(home / segment["path"]) == segment["sha256"], segment
    return [(s["seq"], s["sha256"]) for s in stored]
