"""`bilu worker` processes for tests and benchmarks (tests/api/test_work_queue.py, bench/scale_workers.py): each in
its own process group, so kill -9 reaches the worker and its pool at once, as a machine's death would."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil


def worker_env(home: Path, broker_url: str, **extra: str) -> dict:
    return {**os.environ, "BILU_HOME": str(home), "BILU_BROKER_URL": broker_url, "BILU_LOG_LEVEL": "INFO",
            "BILU_ASR_THREADS": "1", "PYTHONUNBUFFERED": "1", **extra}


class Worker:
    """`bilu worker` in its own process group, its log in a file (read while it runs)."""

    def __init__(self, home: Path, broker_url: str, log: Path, *args: str, **extra: str):
        self.log_path = log
        self._log = open(log, "w")
        self.process = subprocess.Popen([sys.executable, "-m", "api", "worker", *args],
                                        env=worker_env(home, broker_url, **extra), stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while "ready." not in self.log():
            assert self.process.poll() is None and time.monotonic() < deadline, self.log()
            time.sleep(0.2)

    def holds(self, lock_name: str) -> bool:
        """Whether one of the worker's processes has the session's lock file open (is at work on it)."""
        processes = [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(recursive=True)]
        return any(Path(f.path).name == lock_name for p in processes for f in p.open_files())

    def kill_9(self) -> None:
        """SIGKILL to the whole worker: the main process and its pool (nothing of it runs afterwards)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # warm shutdown: the job at hand is finished first
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self._log.close()
