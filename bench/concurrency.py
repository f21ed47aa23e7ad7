"""Rooms recording and clients reading at once, against the real service.

`bilu serve` runs in a subprocess on 127.0.0.1 (BILU_HOME in a temporary folder, the demo session, the demo
administrator and an officer). Each room records through the real capture path: a PulseAudio null sink of its
own (tests/capture/pulse.py) into which `paplay` plays a different real recording, looped to the run's length
and framed by two 0.5 s 1 kHz tones. Meanwhile client threads (httpx, bearer tokens) read the sessions, their
utterances, the pages, byte ranges of the audio, and search, each request timed.

At the end the rooms are stopped and the figures printed and written to bench/results/concurrency.json:
- requests and errors (any status >= 400 or exception: must be 0), latency p50/p95/p99 per kind;
- per room, the archive against what was played: the span between the two tones in the archive must equal
  the played span (within 0.1 s), and the segments must be numbered and timed without a gap;
- commit latency (from the moment a line's last word was played to its commit, from the WebSocket's events);
- the service's resident memory at minute 1 and at the end.
Run: python bench/concurrency.py [--minutes 10] [--rooms 4] [--clients 20] [--think-s 1.0]
"""
import argparse
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
import httpx
import numpy as np
from common import SHARED_AUDIO, TEST_DATA, machine, write_results

from capture import decode_file
from capture.recorder import file_sha256
from cases import Store, generate_password
from played_audio import archive_check, played_file
from tests.audio_helpers import write_audio
from tests.capture.pulse import PulseServer

PASSWORD = "bench-officer-pass-9"
SEARCH_WORDS = ["讯问", "我们", "时间", "问题", "情况", "这个", "今天", "知道"]
# Real recordings, one per room (cycled when there are more rooms): long, conversational where possible.
RECORDINGS = ["vpr_test_long_multispeaker.wav", "funasr_vad_example_70s.wav", "mixes/dev_room_2spk.wav",
              "mixes/dev_room_4spk.wav", "funasr_long_25s.wav"]
TEST_RECORDINGS = ["funasr_long_25s.flac", "dev_room_2spk.wav", "paddlespeech_zh.wav", "funasr_asr_example_zh.wav"]


def recordings_available() -> list[Path]:
    shared = [SHARED_AUDIO / name for name in RECORDINGS if (SHARED_AUDIO / name).is_file()]
    return shared or [TEST_DATA / name for name in TEST_RECORDINGS]


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"count": 0}
    array = np.asarray(values)
    return {"count": len(values), "p50": round(float(np.percentile(array, 50)), 4),
            "p95": round(float(np.percentile(array, 95)), 4), "p99": round(float(np.percentile(array, 99)), 4),
            "max": round(float(array.max()), 4)}


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Room:
    name: str
    sink: str
    recording: Path
    played: Path
    session_id: int = 0
    player: subprocess.Popen | None = None
    played_at: float = 0.0  # wall clock (time.time()) when paplay started
    commits: list = field(default_factory=list)  # (event wall time, utterance end_s on the session clock)
    states: list = field(default_factory=list)


class Service:
    """`bilu serve --demo` in a subprocess, its users, and its PulseAudio server with a sink per room."""

    def __init__(self, root: Path, *, sinks: list[str], demo: bool = True, audio: Path | None = None) -> None:
        self.home = root / "home"
        self.demo, self.audio = demo, audio
        self.pulse = PulseServer(root / "pulse", sinks={sink: 1 for sink in sinks})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = root / "service.log"
        self.process: subprocess.Popen | None = None
        self.admin_password = ""

    def env(self) -> dict[str, str]:
        # The PulseAudio server gets its own HOME: keep the assembled model where it is.
        cache = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
        return {**os.environ, **self.pulse.env, "BILU_HOME": str(self.home), "XDG_CACHE_HOME": cache}

    def start(self) -> None:
        self.pulse.start()
        self.admin_password = generate_password()
        with Store.open(self.home) as store:  # what `bilu users ensure-demo-admin` and `users add` do
            unit = store.list_units()[0]["name"]
            store.add_user("admin", role="admin", unit=unit, password=self.admin_password, display_name="演示管理员")
            store.add_user("officer", role="officer", unit=unit, password=PASSWORD)
        if not self.demo:
            self._store_untranscribed_session(unit)
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
            + (["--demo"] if self.demo else []),
            env=self.env(), stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited: see {self.log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"the service did not answer within 300 s: see {self.log_path}")

    def _store_untranscribed_session(self, unit: str) -> None:
        """A finished session with real audio and no transcript, for byte ranges without the demo's transcription
        (the short run in the test suite)."""
        (self.home / "audio").mkdir(parents=True, exist_ok=True)
        target = self.home / "audio" / "stored.wav"
        decoded = decode_file(self.audio)
        write_audio(target, decoded.samples, decoded.sample_rate)
        with Store.open(self.home) as store:
            store.ensure_case("BENCH-STORED")
            store.set_case_unit("BENCH-STORED", unit)
            session_id = store.create_session(
                case_no="BENCH-STORED", room="存档室", kind="file", source_name=target.name, audio_path="audio/stored.wav",
                audio_sha256=file_sha256(target), audio_bytes=target.stat().st_size, duration_s=decoded.duration_s,
                sample_rate=decoded.sample_rate, channels=decoded.channels, diarizer="channel", model="base", options={})
            store.finish_session(session_id)

    def token(self, name: str, password: str) -> str:
        answer = httpx.post(f"{self.url}/auth/tokens", json={"name": name, "password": password, "label": "bench"},
                            timeout=60)
        answer.raise_for_status()
        return answer.json()["token"]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(120)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.pulse.stop()


def follow(service: Service, room: Room, token: str, stop: threading.Event) -> None:
    """The room's WebSocket: when each utterance was committed (the service's own clock)."""
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{service.port}/ws/sessions/{room.session_id}?token={token}",
                 open_timeout=60, max_size=None) as ws:
        while not stop.is_set():
            try:
                message = json.loads(ws.recv(timeout=1.0))
            except TimeoutError:
                continue
            except Exception:  # closed: the session ended
                return
            if message["type"] == "utterance":
                room.commits.append((message["time"], message["utterance"]["end_s"]))
            elif message["type"] == "state":
                room.states.append(message["state"])
                if message["state"] in ("stopped", "interrupted"):
                    return


@dataclass
class Requests:
    lock: threading.Lock = field(default_factory=threading.Lock)
    timings: dict = field(default_factory=dict)  # kind → [seconds]
    errors: list = field(default_factory=list)

    def record(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.timings.setdefault(kind, []).append(seconds)
            if error is not None and len(self.errors) < 1000:
                self.errors.append({"kind": kind, "error": error})
            elif error is not None:
                self.errors.append({"kind": kind, "error": "(more)"})


def client_loop(url: str, token: str, live_ids: list[int], until: float, think_s: float, seed: int,
                requests: Requests) -> None:
    """One reader: a random request every `think_s` (on average) until `until`, each one timed."""
    rng = random.Random(seed)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        visible = [s["id"] for s in client.get("/sessions").json()]
        finished = [s for s in visible if s not in live_ids]  # a recording's audio is served once it is closed
        sizes = {}  # session id → bytes of its audio, from the first Content-Range

        def audio_range(session_id: int) -> httpx.Response:
            start = rng.randrange(0, max(1, sizes.get(session_id, 1) - 65536))
            answer = client.get(f"/sessions/{session_id}/audio", headers={"Range": f"bytes={start}-{start + 65535}"})
            if answer.status_code == 206:
                sizes[session_id] = int(answer.headers["content-range"].rsplit("/", 1)[1])
            return answer

        kinds = {
            "sessions": lambda: client.get("/sessions"),
            "session": lambda: client.get(f"/sessions/{rng.choice(visible)}"),
            "utterances": lambda: client.get(f"/sessions/{rng.choice(visible)}/utterances"),
            "page": lambda: client.get(f"/sessions/{rng.choice(visible)}/page"),
            "search": lambda: client.get("/search", params={"q": rng.choice(SEARCH_WORDS)}),
        }
        if finished:
            kinds["audio_range"] = lambda: audio_range(rng.choice(finished))
        while time.monotonic() < until:
            kind = rng.choice(sorted(kinds))
            began = time.perf_counter()
            try:
                answer = kinds[kind]()
                error = None if answer.status_code < 400 else f"{answer.status_code}: {answer.text[:200]}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            requests.record(kind, time.perf_counter() - began, error)
            time.sleep(rng.uniform(0.5, 1.5) * think_s)


def start_rooms(service: Service, rooms: list[Room], token: str, stop_following: threading.Event) -> None:
    """Each room recording from its sink (through the API), followed on its WebSocket, then its player started."""
    for i, room in enumerate(rooms):
        answer = httpx.post(f"{service.url}/rooms/{room.name}/sessions", headers={"Authorization": f"Bearer {token}"},
                            json={"case_no": f"BENCH-{i + 1:02d}", "device": room.sink, "channels": 1}, timeout=120)
        answer.raise_for_status()
        room.session_id = answer.json()["session_id"]
        threading.Thread(target=follow, args=(service, room, token, stop_following), daemon=True).start()
    time.sleep(2.0)  # every stream open and delivering before the first tone
    for room in rooms:
        room.played_at = time.time()
        room.player = subprocess.Popen(["paplay", f"--device={room.sink}", str(room.played)],
                                       env={**os.environ, **service.pulse.env},
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_rooms(service: Service, rooms: list[Room], token: str) -> list[int]:
    """Stop every room at once; the HTTP status of each stop."""
    statuses = [0] * len(rooms)

    def stop(i: int) -> None:
        with contextlib.suppress(httpx.HTTPError):
            statuses[i] = httpx.post(f"{service.url}/sessions/{rooms[i].session_id}/stop",
                                     headers={"Authorization": f"Bearer {token}"}, timeout=3600).status_code

    stoppers = [threading.Thread(target=stop, args=(i,)) for i in range(len(rooms))]
    for stopper in stoppers:
        stopper.start()
    for stopper in stoppers:
        stopper.join()
    with Store.open(service.home) as store:  # a room that fell behind transcribes its backlog before it closes
        deadline = time.monotonic() + 3600
        while any(store.get_session(r.session_id)["status"] == "transcribing" for r in rooms):
            if time.monotonic() > deadline:
                raise RuntimeError("the rooms did not finish within an hour of being stopped")
            time.sleep(1.0)
    return statuses


def room_result(service: Service, room: Room, played_s: float, stopped_at: float) -> dict:
    with Store.open(service.home) as store:
        session = store.get_session(room.session_id)
        result = archive_check(service.home, session, store.audio_segments(room.session_id), played_s)
        result.update(recording=room.recording.name, status=session["status"],
                      utterances=len(store.utterances(room.session_id)), websocket_states=room.states,
                      paplay_exit=room.player.returncode)
    if result.get("tones_found"):  # the session clock on the wall clock, through the first tone
        offset = room.played_at - result["played_from_s"]
        result["commit_latencies_s"] = [round(t - (offset + end_s), 3) for t, end_s in room.commits]
        result["commit_latency_s"] = percentiles(result["commit_latencies_s"])
        result["commits_before_stop"] = sum(t < stopped_at for t, _ in room.commits)
    return result


def run(root: Path, *, minutes: float, rooms: int, clients: int, think_s: float,
        recordings: list[Path] | None = None, demo: bool = True, log=print) -> dict:
    """The whole benchmark in `root` (a scratch folder); `demo=False` skips transcribing the demo recording."""
    recordings = recordings or recordings_available()
    total_s = minutes * 60
    room_list = [Room(name=f"并发{i + 1}号室", sink=f"vroom{i + 1}", recording=recordings[i % len(recordings)],
                      played=played_file(recordings[i % len(recordings)], total_s, root / f"room{i + 1}.wav"))
                 for i in range(rooms)]
    service = Service(root, sinks=[room.sink for room in room_list], demo=demo, audio=recordings[0])
    log(f"starting the service ({rooms} sinks, users{', demo session' if demo else ''}) ...")
    startup_began = time.monotonic()
    service.start()
    startup_s = time.monotonic() - startup_began
    stop_following = threading.Event()
    try:
        officer = service.token("officer", PASSWORD)
        start_rooms(service, room_list, officer, stop_following)
        began = time.monotonic()
        log(f"{rooms} rooms recording, {clients} clients for {minutes:g} min ...")
        requests = Requests()
        live_ids = [room.session_id for room in room_list]
        admin = service.token("admin", service.admin_password)
        tokens = [admin if i % 4 == 0 else service.token("officer", PASSWORD) for i in range(clients)]
        workers = [threading.Thread(target=client_loop, args=(service.url, tokens[i], live_ids, began + total_s,
                                                              think_s, i, requests), daemon=True)
                   for i in range(clients)]
        for worker in workers:
            worker.start()
        memory = []  # (seconds since start, MB), every 10 s
        while time.monotonic() < began + total_s + 1.0:
            memory.append((round(time.monotonic() - began, 1), round(rss_mb(service.process.pid), 1)))
            time.sleep(min(10.0, max(0.1, began + total_s + 1.0 - time.monotonic())))
        for worker in workers:
            worker.join(timeout=180)
        memory.append((round(time.monotonic() - began, 1), round(rss_mb(service.process.pid), 1)))
        for room in room_list:
            room.player.wait(timeout=60)
        time.sleep(1.0)  # the last tone through the sink
        log("stopping the rooms (the last words are transcribed first) ...")
        stop_began, stopped_at = time.monotonic(), time.time()
        stop_statuses = stop_rooms(service, room_list, officer)
        stop_s = time.monotonic() - stop_began
        room_results = {room.name: room_result(service, room, total_s, stopped_at) for room in room_list}
    finally:
        stop_following.set()
        service.stop()
    log_text = service.log_path.read_text(errors="replace")
    minute_one = next((mb for t, mb in memory if t >= 60), memory[-1][1])
    return {
        "machine": machine(),
        "minutes": minutes, "rooms": rooms, "clients": clients, "think_s": think_s,
        "requests": sum(len(v) for v in requests.timings.values()),
        "errors": len(requests.errors),
        "error_samples": requests.errors[:20],
        "request_latency_s": {kind: percentiles(values) for kind, values in sorted(requests.timings.items())},
        "request_latency_all_s": percentiles([v for values in requests.timings.values() for v in values]),
        "rooms_detail": room_results,
        "no_audio_gap": all(r.get("no_gap") for r in room_results.values()),
        "commit_latency_all_rooms_s": percentiles([v for r in room_results.values()
                                                   for v in r.get("commit_latencies_s", [])]),
        "service_rss_mb": {"minute_1": minute_one, "end": memory[-1][1], "samples": memory},
        "service_startup_s": round(startup_s, 1),
        "stop_statuses": stop_statuses,
        "stop_all_rooms_s": round(stop_s, 1),
        "service_log_errors": log_text.count("ERROR") + log_text.count("Traceback"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rooms", type=int, default=4)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--think-s", type=float, default=1.0, help="mean pause between a client's requests")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bilu-concurrency-") as folder:
        results = run(Path(folder), minutes=args.minutes, rooms=args.rooms, clients=args.clients,
                      think_s=args.think_s)
    print(f"requests {results['requests']}, errors {results['errors']}")
    for kind, figures in results["request_latency_s"].items():
        print(f"  {kind:12s} n={figures['count']:5d}  p50 {figures['p50']:.3f} s  p95 {figures['p95']:.3f} s  "
              f"p99 {figures['p99']:.3f} s")
    for name, room in results["rooms_detail"].items():
        commit = room.get("commit_latency_s", {})
        print(f"  {name}: archive {room['archive_s']} s, played {room['played_s']} s, in archive "
              f"{room.get('played_in_archive_s')} s (diff {room.get('difference_s')} s), {room['segments']} segments, "
              f"no gap: {room['no_gap']}, commits {commit.get('count', 0)} p50 {commit.get('p50')} s "
              f"p95 {commit.get('p95')} s")
    rss = results["service_rss_mb"]
    print(f"service RSS: {rss['minute_1']} MB at minute 1, {rss['end']} MB at the end; "
          f"stopping the rooms took {results['stop_all_rooms_s']} s; log errors {results['service_log_errors']}")
    write_results("concurrency", results)


if __name__ == "__main__":
    main()
