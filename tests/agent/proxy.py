"""A TCP proxy on loopback that breaks the link between a room agent and the service on purpose.

`cut()` closes every connection through it at once (a cable pulled); `down(s)` cuts and then refuses new
connections for `s` seconds (the network gone for a while); `stall(s)` keeps the connections open but passes no
byte for `s` seconds (a link that hangs: only the agent's pings notice). Threads and plain sockets: nothing to mock.
"""
import socket
import threading
import time


class FaultProxy:
    def __init__(self, target_port: int, *, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self._listener = socket.create_server((host, 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._refuse_until = 0.0
        self._stall_until = 0.0
        self.cuts = 0
        self.connections = 0
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="proxy-accept").start()

    def cut(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
            self.cuts += 1
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def down(self, seconds: float) -> None:
        # an overlapping cut lengthens the outage, never shortens it
        self._refuse_until = max(self._refuse_until, time.monotonic() + seconds)
        self.cut()

    def stall(self, seconds: float) -> None:
        self._stall_until = time.monotonic() + seconds

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.cut()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if time.monotonic() < self._refuse_until:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
                self.connections += 1
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                while time.monotonic() < self._stall_until:
                    time.sleep(0.05)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
