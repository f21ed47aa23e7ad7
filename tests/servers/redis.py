"""A real Redis (Debian's redis-server) for the tests: loopback, a free port, a temporary folder, nothing saved.

    from tests.servers.redis import redis_server   # a fixture; re-export it from a conftest or a test module

`redis_server` yields a `RedisServer` whose `url` is what BILU_BROKER_URL takes. The server is a child process
of the test run, stopped (and its folder removed) when the fixture ends; it never writes a snapshot
(`--save ""`, no append-only file) and listens on 127.0.0.1 only.
"""
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REDIS_SERVER = "redis-server"  # the Debian package redis-server (Makefile: SYSTEM_PACKAGES)
START_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int
    folder: Path
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def command(self, *args: str) -> str:
        """One command through the real protocol (inline form), its reply as text: PING → "+PONG"."""
        with socket.create_connection((self.host, self.port), timeout=5) as sock:
            sock.sendall((" ".join(args) + "\r\n").encode())
            return sock.recv(65536).decode(errors="replace").strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(folder: Path) -> RedisServer:
    executable = shutil.which(REDIS_SERVER)
    if executable is None:
        pytest.fail("redis-server is not installed: apt-get install redis-server (make install does it)")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = open(folder / "redis.log", "w")
    process = subprocess.Popen(
        [executable, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder), "--save", "",
         "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no"],
        stdout=log, stderr=subprocess.STDOUT)
    server = RedisServer("127.0.0.1", port, folder, process)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"redis-server exited at start: {(folder / 'redis.log').read_text()[-2000:]}")
        try:
            if server.command("PING") == "+PONG":
                return server
        except OSError:
            pass
        time.sleep(0.05)
    stop_redis(server)
    pytest.fail(f"redis-server did not answer within {START_TIMEOUT_S} s")


def stop_redis(server: RedisServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path_factory) -> RedisServer:
    server = start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        stop_redis(server)
        shutil.rmtree(server.folder, ignore_errors=True)
