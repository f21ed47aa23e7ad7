"""A private PulseAudio server with null sinks: a real audio device on a machine without a sound card.

Everything lives under one temporary folder (runtime dir, home, ALSA config, log). PortAudio records a
sink's monitor through ALSA's `pulse` plugin, under the ALSA names `vmic_mono` and `vmic_stereo`, while
`paplay` plays a WAV into the sink in real time (see shared/CAPTURE-TESTING.md).

PortAudio lists devices once, when it initialises: `activate()` points this process at the server and
re-initialises PortAudio, and puts the environment back afterwards.
"""
import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

SINKS = {"vmic_mono": 1, "vmic_stereo": 2}
SINK_RATE = 16000
_ENV_KEYS = ("XDG_RUNTIME_DIR", "HOME", "XDG_CONFIG_HOME", "PULSE_SERVER")


class PulseUnavailable(RuntimeError):
    """pulseaudio or paplay is not installed, or the server did not come up."""


class PulseServer:
    def __init__(self, root: Path, *, sinks: dict[str, int] | None = None) -> None:
        """`sinks`: name → channels of the null sinks to make (default SINKS; a benchmark makes one per room)."""
        self.root = root
        self.sinks = dict(SINKS if sinks is None else sinks)
        self.run_dir = root / "run"
        self.home = root / "home"
        self.config_home = root / "xdg"
        self.log_path = self.run_dir / "pa.log"
        self.socket = self.run_dir / "pulse" / "native"
        self._listeners: list[subprocess.Popen] = []

    @property
    def env(self) -> dict[str, str]:
        return {
            "XDG_RUNTIME_DIR": str(self.run_dir),
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.config_home),
            "PULSE_SERVER": f"unix:{self.socket}",
        }

    def start(self, timeout_s: float = 10.0) -> None:
        for tool in ("pulseaudio", "pactl", "paplay", "parec"):
            if shutil.which(tool) is None:
                raise PulseUnavailable(f"{tool} is not installed: apt-get install pulseaudio pulseaudio-utils")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.chmod(0o700)
        self.home.mkdir(parents=True, exist_ok=True)
        (self.config_home / "alsa").mkdir(parents=True, exist_ok=True)
        (self.config_home / "alsa" / "asoundrc").write_text(
            "".join(f'pcm.{name} {{ type pulse device "{name}.monitor" }}\n' for name in self.sinks)
        )
        config = self.root / "vmic.pa"
        default = "vmic_stereo" if "vmic_stereo" in self.sinks else next(iter(self.sinks))
        config.write_text(
            ".fail\nload-module module-native-protocol-unix auth-anonymous=1\n"
            + "".join(
                f"load-module module-null-sink sink_name={name} format=s16le rate={SINK_RATE} channels={n} "
                f"channel_map={'mono' if n == 1 else 'front-left,front-right'}\n"
                for name, n in self.sinks.items()
            )
            + f"set-default-sink {default}\nset-default-source {default}.monitor\n"
        )
        # As root, --exit-idle-time=-1 is needed or the server leaves after 20 s without clients.
        subprocess.run(
            ["pulseaudio", "-n", "-F", str(config), "--daemonize=yes", "--exit-idle-time=-1", "--disallow-exit",
             "--realtime=no", "--high-priority=no", "--resample-method=soxr-vhq", f"--log-target=file:{self.log_path}"],
            env=self._child_env(), check=True, timeout=timeout_s, capture_output=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if subprocess.run(["pactl", "info"], env=self._child_env(), capture_output=True).returncode == 0:
                self._start_listeners()
                return
            time.sleep(0.05)
        raise PulseUnavailable(f"the PulseAudio server did not answer within {timeout_s} s; see {self.log_path}")

    def _start_listeners(self) -> None:
        # A low-latency listener on every monitor keeps each sink running with a short buffer: the first
        # frames come at once, and a new stream is not mixed in over seconds of already-rendered silence
        # (the part a sink rewinds never reaches its monitor).
        for name in self.sinks:
            self._listeners.append(subprocess.Popen(
                ["parec", f"--device={name}.monitor", "--latency-msec=20"],
                env=self._child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))

    def stop(self) -> None:
        for listener in self._listeners:
            listener.terminate()
            listener.wait(5)
        self._listeners.clear()
        pid = self.pid()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.02)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)

    def pid(self) -> int | None:
        pid_file = self.run_dir / "pulse" / "pid"
        try:
            return int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def play(self, wav: Path, *, sink: str, timeout_s: float = 120) -> None:
        """Play a WAV into `sink` in real time; returns when it has been played (a benchmark's long recording
        needs a `timeout_s` beyond its length)."""
        subprocess.run(["paplay", f"--device={sink}", str(wav)], env=self._child_env(), check=True,
                       timeout=timeout_s, capture_output=True)

    def suspend(self, sink: str, suspended: bool = True) -> None:
        """Freeze a sink (and so its monitor): the stream stays open but no audio comes."""
        subprocess.run(["pactl", "suspend-sink", sink, "1" if suspended else "0"], env=self._child_env(),
                       check=True, timeout=10, capture_output=True)

    @contextlib.contextmanager
    def activate(self) -> Iterator["PulseServer"]:
        """Point this process (PortAudio, libpulse, ALSA) at the server for the duration of the block."""
        saved = {key: os.environ.get(key) for key in _ENV_KEYS}
        os.environ.update(self.env)
        rescan_portaudio()
        try:
            yield self
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            rescan_portaudio()

    def _child_env(self) -> dict[str, str]:
        return {**os.environ, **self.env}


def rescan_portaudio() -> None:
    import sounddevice

    sounddevice._terminate()
    sounddevice._initialize()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A daemonised server is not our child, so it never lingers as a zombie of ours.
    return True
