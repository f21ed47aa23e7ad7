"""The input devices PortAudio can see, and the errors of the capture package.

sounddevice is imported inside functions only: its import fails when the PortAudio library is missing,
and the rest of the package (files, recovery, replay) must keep working on such a machine.
"""
import logging
from dataclasses import dataclass
from types import ModuleType

from error_kinds import BadInput, Unavailable

log = logging.getLogger(__name__)

INSTALL_HINT = "install it with: apt-get install libportaudio2"


class CaptureError(Unavailable, RuntimeError):
    """Audio cannot be captured on this machine (no PortAudio, no device, a device that failed)."""

    code = "audio_device_unavailable"


class CaptureArgumentError(BadInput, CaptureError):
    """A capture setting is wrong (unknown device, unsupported channel count, ...). The message says which.

    Bad input, though a CaptureError: BadInput comes first in its bases, so its kind wins (error_kinds)."""

    code = "capture_setting_invalid"


@dataclass(frozen=True, slots=True)
class InputDevice:
    index: int
    name: str
    max_input_channels: int
    default_samplerate: int
    is_default: bool
    host_api: str


def load_sounddevice() -> ModuleType:
    """The sounddevice module, or CaptureError with how to install PortAudio when it is missing."""
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError("PortAudio library not found") at import
        raise CaptureError(f"the PortAudio library is missing ({exc}); {INSTALL_HINT}") from exc
    except ImportError as exc:
        raise CaptureError(f"the Python package sounddevice is missing ({exc}); install it with: pip install sounddevice") from exc
    return sounddevice


def list_input_devices() -> list[InputDevice]:
    """Every device that can record, in PortAudio's order; [] when there is none."""
    sd = load_sounddevice()
    try:
        devices = sd.query_devices()
        host_apis = sd.query_hostapis()
    except sd.PortAudioError as exc:
        raise CaptureError(f"PortAudio cannot list the audio devices: {exc}",
                           zh="无法列出录音设备：请检查声音服务") from exc
    default_index = _default_input_index(sd)
    found = []
    for device in devices:
        if device["max_input_channels"] < 1:
            continue
        found.append(
            InputDevice(
                index=int(device["index"]),
                name=str(device["name"]),
                max_input_channels=int(device["max_input_channels"]),
                default_samplerate=int(round(device["default_samplerate"])),
                is_default=int(device["index"]) == default_index,
                host_api=str(host_apis[device["hostapi"]]["name"]),
            )
        )
    log.debug("%d input devices, default %s", len(found), default_index)
    return found


def find_input_device(device: str | int | None, *, channels: int) -> InputDevice:
    """The device a user named (index, exact name, or a unique part of a name), or the default one.

    Raises CaptureError when there is no input device at all, CaptureArgumentError when the name matches
    no device (or several) or the device has fewer than `channels` inputs.
    """
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise CaptureArgumentError(f"channels must be a whole number of at least 1, not {channels!r}")
    devices = list_input_devices()
    if not devices:
        raise CaptureError("no audio input device was found: connect a microphone (or start the sound server)",
                           zh="没有找到录音输入设备：请连接麦克风（或启动声音服务）")
    chosen = _choose(devices, device)
    if channels > chosen.max_input_channels:
        raise CaptureArgumentError(
            f"input device {chosen.index} ({chosen.name}) has {chosen.max_input_channels} input channels; "
            f"{channels} were asked for",
            zh=f"录音设备 {chosen.index}（{chosen.name}）只有 {chosen.max_input_channels} 个输入声道，请求的是 {channels} 个",
        )
    return chosen


def _choose(devices: list[InputDevice], device: str | int | None) -> InputDevice:
    available = "; ".join(f"{d.index}: {d.name}" for d in devices)
    if device is None:
        for candidate in devices:
            if candidate.is_default:
                return candidate
        return devices[0]  # PortAudio names no default input: the first one that can record
    if isinstance(device, int) and not isinstance(device, bool):
        for candidate in devices:
            if candidate.index == device:
                return candidate
        raise CaptureArgumentError(f"no input device has index {device}; input devices are {available}",
                                   zh=f"没有编号为 {device} 的录音输入设备；可用的设备：{available}")
    if isinstance(device, str) and device.strip():
        wanted = device.strip()
        if wanted.isdigit():
            return _choose(devices, int(wanted))
        exact = [d for d in devices if d.name == wanted]
        if exact:
            return exact[0]
        partial = [d for d in devices if wanted.casefold() in d.name.casefold()]
        if len(partial) == 1:
            return partial[0]
        if len(partial) > 1:
            names = "; ".join(f"{d.index}: {d.name}" for d in partial)
            raise CaptureArgumentError(f"input device {wanted!r} matches several devices ({names}): name one exactly",
                                       zh=f"录音设备名 {wanted!r} 对应多个设备（{names}）：请写出完整名称")
        raise CaptureArgumentError(f"no input device is called {wanted!r}; input devices are {available}",
                                   zh=f"没有名为 {wanted!r} 的录音输入设备；可用的设备：{available}")
    raise CaptureArgumentError(f"a device is named by its index or its name, not {device!r}")


def _default_input_index(sd: ModuleType) -> int | None:
    """The device PortAudio records from when none is named (sounddevice's default, else the host's)."""
    try:
        return int(sd.query_devices(kind="input")["index"])
    except (sd.PortAudioError, ValueError, KeyError, TypeError):
        return None
