"""Listing and choosing input devices, against a real PortAudio over a private PulseAudio server."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from capture import CaptureArgumentError, CaptureError, InputDevice, Microphone, list_input_devices

REPO = Path(__file__).resolve().parents[2]


def test_the_virtual_microphones_are_listed_with_channels_and_rate(pulse):
    devices = list_input_devices()
    by_name = {d.name: d for d in devices}
    assert {"vmic_mono", "vmic_stereo"} <= set(by_name)
    for device in devices:
        assert isinstance(device, InputDevice)
        assert device.max_input_channels >= 1
        assert device.default_samplerate >= 8000
    assert sum(d.is_default for d in devices) == 1
    assert [d.index for d in devices] == sorted(d.index for d in devices)


def test_a_device_is_found_by_index_name_or_part_of_a_name(pulse):
    stereo = next(d for d in list_input_devices() if d.name == "vmic_stereo")
    assert Microphone("vmic_stereo", channels=2).device == stereo
    assert Microphone(stereo.index, channels=2).device == stereo
    assert Microphone(str(stereo.index), channels=2).device == stereo
    assert Microphone("VMIC_STER", channels=1).device == stereo
    assert Microphone(None, channels=1).device.is_default


def test_an_unknown_device_is_refused_with_the_devices_there_are(pulse):
    with pytest.raises(CaptureArgumentError, match="no input device is called 'seat-9'") as info:
        Microphone("seat-9", channels=1)
    assert "vmic_mono" in str(info.value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(CaptureArgumentError, match="matches several devices"):
        Microphone("vmic", channels=1)
    with pytest.raises(CaptureArgumentError, match="no input device has index 999"):
        Microphone(999, channels=1)


def test_more_channels_than_the_device_has_are_refused(pulse):
    device = next(d for d in list_input_devices() if d.name == "vmic_mono")
    with pytest.raises(CaptureArgumentError, match=f"has {device.max_input_channels} input channels"):
        Microphone("vmic_mono", channels=device.max_input_channels + 1)
    with pytest.raises(CaptureArgumentError, match="at least 1"):
        Microphone("vmic_mono", channels=0)


def _run_isolated(code: str, tmp_path: Path, *, hide_portaudio: bool = False) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter that sees no sound server (and, if asked, no PortAudio)."""
    prelude = "import ctypes.util\nctypes.util.find_library = lambda name: None\n" if hide_portaudio else ""
    run_dir = tmp_path / "run"
    run_dir.mkdir(mode=0o700, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "HOME": str(tmp_path),
        "XDG_RUNTIME_DIR": str(run_dir),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "PULSE_SERVER": f"unix:{tmp_path / 'no-server'}",
    }
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


def test_no_input_device_gives_an_empty_list_and_a_clear_error_on_open(tmp_path):
    result = _run_isolated(
        """
        from capture import CaptureError, Microphone, list_input_devices
        print("devices:", list_input_devices())
        try:
            Microphone(None, channels=1)
        except CaptureError as exc:
            print("error:", exc)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "devices: []" in result.stdout
    assert "error: no audio input device was found" in result.stdout


def test_missing_portaudio_says_how_to_install_it(tmp_path):
    result = _run_isolated(
        """
        import capture  # the package itself must import without PortAudio
        from capture import CaptureError, list_input_devices
        try:
            list_input_devices()
        except CaptureError as exc:
            print("error:", exc)
        """,
        tmp_path,
        hide_portaudio=True,
    )
    assert result.returncode == 0, result.stderr
    assert "error: the PortAudio library is missing" in result.stdout
    assert "apt-get install libportaudio2" in result.stdout


def test_capture_error_is_a_runtime_error():
    assert issubclass(CaptureError, RuntimeError)
    assert issubclass(CaptureArgumentError, CaptureError)
