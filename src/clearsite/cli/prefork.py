"""`clearsite serve --workers N`: gunicorn's pre-forking master running uvicorn workers.

The master imports the web app's code and reads the knowledge base once, then forks the workers, which
share those pages with it (copy-on-write) instead of each building a copy of its own; a worker's own
memory is then mostly what its requests use. What start-up built is frozen before the fork
(gc.freeze): the cyclic collector writes into every object it walks, which would copy, in each worker,
every page it lives on. Each worker still builds its app (engine, pool, delivery thread) after the fork,
so no database connection or thread crosses it. The master restarts a worker that dies, by forking again.

Where there is no fork (Windows), `serve` keeps uvicorn's own spawning supervisor.
"""

from __future__ import annotations

import gc
import importlib
import socket
import ssl
from collections.abc import Callable
from typing import Any, ClassVar

from gunicorn.app.base import BaseApplication
from uvicorn_worker import UvicornWorker

from clearsite.core.errors import UsageError
from clearsite.services.knowledge import load_knowledge

__all__ = ["ClearsiteWorker", "check_can_serve", "serve_preforked"]


class ClearsiteWorker(UvicornWorker):
    """A uvicorn worker configured as `clearsite serve` configures uvicorn (CONFIG_KWARGS is the documented
    way to pass uvicorn settings that gunicorn has no name for)."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {"loop": "auto", "http": "auto", "server_header": False,
                                     "proxy_headers": True, "timeout_graceful_shutdown": 30}


class _Preforked(BaseApplication):
    def __init__(self, settings: dict[str, Any], build_app: Callable[[], Any]) -> None:
        self._settings = settings
        self._build_app = build_app
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._settings.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        return self._build_app()  # in each worker, after the fork (preload_app stays off)


def serve_preforked(app_factory: str, *, host: str, port: int, workers: int, forwarded_allow_ips: str,
                    ssl_certfile: str | None, ssl_keyfile: str | None) -> None:
    """Run until stopped (SIGTERM: finish requests within 30 s; SIGINT: at once). `app_factory` is the
    "module:function" that builds the app, loaded by name so that this door never imports the web's.
    Call `check_can_serve` first."""
    module_name, _, function_name = app_factory.partition(":")
    module = importlib.import_module(module_name)  # the web app's code, shared by every worker
    load_knowledge()  # read once here; each worker's own load returns this copy
    gc.collect()
    gc.freeze()
    settings: dict[str, Any] = {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"], "workers": workers, "worker_class": ClearsiteWorker,
        "forwarded_allow_ips": forwarded_allow_ips, "graceful_timeout": 30,
        # A worker whose event loop stalls this long is replaced; requests' database work runs on threads.
        "timeout": 120, "keepalive": 5, "loglevel": "warning", "accesslog": None, "errorlog": "-",
        "proc_name": "clearsite",
    }
    if ssl_certfile:
        settings.update(certfile=ssl_certfile, keyfile=ssl_keyfile)
    _Preforked(settings, getattr(module, function_name)).run()


def check_can_serve(host: str, port: int, ssl_certfile: str | None, ssl_keyfile: str | None) -> None:
    """Refuse at once, in one line, an address that is taken or TLS files that do not load: gunicorn would
    retry a taken address for seconds, and a worker that cannot load the files fails only once forked."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds; a port in use still fails
            probe.bind((host, port))
    except OSError as exc:
        raise UsageError(f"cannot serve on {host}:{port}: {(exc.strerror or str(exc)).lower()}") from exc
    if not ssl_certfile:
        return
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(ssl_certfile, ssl_keyfile)
    except ssl.SSLError as exc:
        detail = f" ({exc.reason.lower().replace('_', ' ')})" if exc.reason else ""
        raise UsageError(f"--ssl-certfile/--ssl-keyfile: not a PEM certificate and its key{detail}") from exc
    except OSError as exc:
        raise UsageError(f"--ssl-certfile/--ssl-keyfile: {exc.filename or ssl_certfile}: "
                         f"{(exc.strerror or str(exc)).lower()}") from exc
