"""The suite runs with the network refused: prove the guard is really on, so other tests can rely on it."""
import socket

import pytest
from pytest_socket import SocketBlockedError, SocketConnectBlockedError


def test_outside_connections_are_refused():
    with pytest.raises((SocketBlockedError, SocketConnectBlockedError)):
        socket.create_connection(("192.0.2.1", 443), timeout=1)  # TEST-NET-1: never routed anywhere


def test_loopback_is_allowed():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname(), timeout=1)
    client.close()
    server.close()
