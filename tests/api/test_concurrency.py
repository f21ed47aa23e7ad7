"""A short run of bench/concurrency.py in the suite: the real service in a subprocess, 2 rooms recording from
PulseAudio null sinks, 5 clients reading and searching for 20 s. Asserts no failed request and no audio gap
(never timings: the benchmark measures them)."""
import importlib.util
import sys
from pathlib import Path
import pytest

pytestmark = [pytest.mark.recognition, pytest.mark.mechanism]  # the service transcribes the uploads in its own process
# mechanism: rooms and clients served together, whatever the words

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load_bench():
    sys.path.insert(0, str(BENCH))  # the benchmark imports its neighbour `common`
    try:
        spec = importlib.util.spec_from_file_location("bench_concurrency", BENCH / "concurrency.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def test_two_rooms_and_five_clients_for_twenty_seconds(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("BILU_ASR_BEAM_SIZE", "1")  # the service's passes a third faster: the test stays short
    bench = load_bench()
    results = bench.run(tmp_path, minutes=1 / 3, rooms=2, clients=5, think_s=0.5, demo=False,
                        recordings=[data_dir / "funasr_long_25s.flac", data_dir / "dev_room_2spk.wav"],
                        log=lambda line: None)
    assert results["requests"] > 50 and results["errors"] == 0, results["error_samples"]
    assert set(results["request_latency_s"]) == {"sessions", "session", "utterances", "page", "search", "audio_range"}
    for name, room in results["rooms_detail"].items():
        assert room["status"] == "done" and room["websocket_states"] == ["recording", "stopped"], (name, room)
        assert room["tones_found"] and abs(room["difference_s"]) <= 0.1, (name, room)
        assert room["segments_numbered_without_gap"] and not room["segment_time_gaps"], (name, room)
        assert not room["segments_with_wrong_sha256"] and room["utterances"] > 0, (name, room)
    assert results["no_audio_gap"] and results["service_log_errors"] == 0
