"""Capture fixtures: a private PulseAudio server (tests/capture/pulse.py) that PortAudio records from."""
from collections.abc import Iterator

import pytest

from tests.capture.pulse import PulseServer


@pytest.fixture(scope="session")
def pulse(tmp_path_factory) -> Iterator[PulseServer]:
    """One server for the session, with this process's PortAudio pointed at it."""
    server = PulseServer(tmp_path_factory.mktemp("pulse"))
    server.start()
    try:
        with server.activate():
            yield server
    finally:
        server.stop()


@pytest.fixture
def private_pulse(pulse, tmp_path_factory) -> Iterator[PulseServer]:
    """A server of the test's own, for tests that stop it; the shared one is active again afterwards."""
    server = PulseServer(tmp_path_factory.mktemp("pulse-private"))
    server.start()
    try:
        with server.activate():
            yield server
    finally:
        server.stop()
