"""Serve an ASGI app (an emulator, or planbridge itself) on a free loopback port in a thread."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

from connectors.addresses import AddressPolicy

# What connectors built straight from a harness may reach: the emulators' loopback address only,
# so the outbound guard runs as in production (where it refuses loopback).
EMULATOR_ADDRESSES = AddressPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LoopbackServer:
    """``with LoopbackServer(app) as server: server.url`` -- real HTTP on 127.0.0.1."""

    def __init__(self, app: Any, port: int | None = None, *, date_header: bool = True) -> None:
        # date_header=False: the app writes its own Date (an emulator on its own clock).
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            timeout_keep_alive=30,
            date_header=date_header,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> LoopbackServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
