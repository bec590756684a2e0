"""How ``cardcrm serve`` runs the app under uvicorn: workers, JSON logs, shared metrics, and
a graceful stop.

On SIGTERM uvicorn stops accepting connections, closes the open WebSockets, lets in-flight
HTTP requests finish (for at most ``graceful_shutdown_seconds``, then cancels them), and only
then runs the app's lifespan shutdown, which closes the broker and drains the database pool
(``engine.dispose()``). Because the WebSockets are closed before the lifespan shutdown starts,
the close code is uvicorn's to choose: it says 1012 (service restart); cardcrm's protocol
class says 1001 (going away, RFC 6455 §7.4.1), which every graphql-ws client treats as "try
again", and the load balancer then sends the reconnect to another instance. The process
exits 0 after a graceful stop.

Several workers (``--workers N``) share the port: uvicorn's supervisor binds the listening
socket and each worker accepts on its copy. A listening socket accepts connections (into the
kernel's queue) for as long as any process holds it open, so a supervisor that kept its copy
after SIGTERM, while the workers closed theirs, would queue new connections nobody accepts
any more: they would hang until the process exits, then be reset. ``StopAcceptingFirst``
closes the supervisor's copy the moment SIGTERM (or SIGINT) arrives; the workers close theirs
when they start their graceful stop, so from then on a new connection is refused at once and
only the requests in flight are drained. Live updates, rate limits and persisted
queries are then shared only through Redis: without ``REDIS_URL`` each worker sees only the
events raised in itself, so production refuses to start that way and development warns.
The workers also share one ``PROMETHEUS_MULTIPROC_DIR`` (see ``api.metrics``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import tempfile
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.supervisors import Multiprocess

from api.log_format import logging_config
from api.metrics import MULTIPROCESS_DIR_VARIABLE
from core.settings import Settings

GOING_AWAY = 1001
# A new worker re-imports the `cardcrm` command before it answers the supervisor's first
# health check; on a busy machine that takes longer than uvicorn's default of 5 s.
WORKER_HEALTHCHECK_SECONDS = 60
NO_REDIS_WITH_WORKERS = (
    "--workers {workers} without REDIS_URL: each worker would deliver only the live updates "
    "raised in itself, and keep its own rate limits and persisted queries; set REDIS_URL"
)


class GoingAwayWebSockets(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, closing with 1001 when the server stops."""

    def shutdown(self) -> None:
        if not self.handshake_complete or self.close_sent:
            super().shutdown()
            return
        self.stop_keepalive()
        self.queue.put_nowait({"type": "websocket.disconnect", "code": GOING_AWAY})
        self.conn.send_close(GOING_AWAY, "server shutting down")
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.transport.close()


def workers_problem(settings: Settings, workers: int) -> str | None:
    """Why ``workers`` processes would misbehave with these settings, if they would."""
    if workers > 1 and not settings.redis_url:
        return NO_REDIS_WITH_WORKERS.format(workers=workers)
    return None


def _exit_after_graceful_stop(signum: int, frame: FrameType | None) -> None:
    """uvicorn re-raises the SIGTERM it handled once it has stopped; by then the stop was
    graceful, so the process ends with status 0 rather than as killed by the signal."""
    sys.exit(0)


class StopAcceptingFirst(Multiprocess):
    """uvicorn's worker supervisor, letting go of the listening socket at SIGTERM (above)."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
        super().__init__(config, sockets)
        self.stopping = False
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._stop_accepting)

    def _stop_accepting(self, signum: int, frame: FrameType | None) -> None:
        """In the signal handler itself: the supervisor's loop only looks every 0.5 s."""
        self.stopping = True
        for listening in self.sockets:
            listening.close()
        self.signal_queue.append(signum)  # uvicorn's own handling: stop the workers

    def keep_subprocess_alive(self) -> None:
        if not self.stopping:  # a replacement worker would need the closed socket
            super().keep_subprocess_alive()


def _run_workers(options: dict[str, Any]) -> None:
    """``uvicorn.run`` with several workers, under ``StopAcceptingFirst``."""
    config = uvicorn.Config(**options)
    StopAcceptingFirst(config, sockets=[config.bind_socket()]).run()


def serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    own_metrics_dir = None
    if workers > 1 and not os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        own_metrics_dir = tempfile.mkdtemp(prefix="cardcrm-metrics-")
        os.environ[MULTIPROCESS_DIR_VARIABLE] = own_metrics_dir  # inherited by the workers
    signal.signal(signal.SIGTERM, _exit_after_graceful_stop)
    try:
        options: dict[str, Any] = {
            "app": "api.app:create_app",
            "factory": True,
            "host": host,
            "port": port,
            "workers": workers,
            # By name: a worker unpickles its config before it answers the supervisor's
            # health checks, and the class would import all of cardcrm first.
            "ws": f"{__name__}:{GoingAwayWebSockets.__name__}",
            # A WebSocket message is bounded like an HTTP body (uvicorn's default: 16 MiB);
            # a longer one closes the connection with 1009.
            "ws_max_size": settings.max_request_bytes,
            "log_config": logging_config("info"),
            "access_log": False,  # api.observability writes one line per request
            "proxy_headers": settings.forwarded_allow_ips is not None,
            "forwarded_allow_ips": settings.forwarded_allow_ips,
            "timeout_graceful_shutdown": settings.graceful_shutdown_seconds,
            "timeout_worker_healthcheck": WORKER_HEALTHCHECK_SECONDS,
        }
        if workers > 1:
            _run_workers(options)
        else:  # one process: uvicorn closes its own socket first at SIGTERM
            uvicorn.run(**options)
    finally:
        if own_metrics_dir is not None:
            shutil.rmtree(own_metrics_dir, ignore_errors=True)
