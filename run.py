"""The one entry point: ``python run.py`` starts the game server on uvloop (SPEC §2, §10).

Installed (``pip install .``), the same ``main`` is the ``click-the-button`` command. With
``REDIS_URL`` set it starts the role ``ROLE`` names instead (SPEC §11, ``cluster/``): ``all``
is the parent that runs this program again for the engine and each gateway.
"""

from __future__ import annotations

import logging
import os
import resource
import sys

import uvloop

import settings as settings_mod
from cluster import parent_watch, supervisor
from persistence.errors import StartupError
from persistence.store import check_data_dir
from server import gc_policy, listener, logs
from server.app import init_app
from server.conn_limits import descriptor_budget


def main(argv: list[str] | None = None) -> int:
    prog = os.path.basename(sys.argv[0])  # run.py, or click-the-button when installed
    try:
        settings = settings_mod.load(argv)
    except settings_mod.SettingsError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    log = logging.getLogger("ctb")
    version = settings_mod.package_version()
    role = "single" if settings.redis_url is None else settings.role
    log.info(
        "starting",
        extra={
            "event": "start",
            "host": settings.host,
            "port": settings.port,
            "version": version,
            "role": role,
        },
    )
    if role in ("engine", "gateway"):
        parent_watch.arm()  # a child of ROLE=all dies with its parent from here on
    if role == "all":
        try:
            return supervisor.run_all(settings, sys.argv[1:] if argv is None else list(argv))
        except StartupError as error:  # DATA_DIR or the keys unusable: no child was started
            log.error("cannot start", extra={"event": "startup_failed", "error": str(error)})
            print(f"{prog}: {error}", file=sys.stderr)
            return 1
    # Every connection is a descriptor: the soft limit (often 1,024) is raised to the hard one
    # before the app sizes its connection budget from it (server/conn_limits.py).
    before, after = listener.raise_descriptor_limit()
    log.info(
        "descriptor limit",
        extra={
            "event": "descriptor_limit",
            "soft_before": before,
            "soft": after,  # read back: what the process got, not what it asked for
            "hard": resource.getrlimit(resource.RLIMIT_NOFILE)[1],
            "connection_budget": descriptor_budget(),
        },
    )
    uvloop.install()
    try:
        if role in ("engine", "gateway"):
            from cluster import roles  # the Redis client, loaded only by the roles that use it

            return roles.run_engine(settings) if role == "engine" else roles.run_gateway(settings)
        check_data_dir(settings.data_dir)  # before anything else writes its files there
        app = init_app(settings)
        gc_policy.attach(app, tuned=settings.gc_policy == "tuned")
        listener.run(app, settings.host, settings.port, shutdown_timeout=5.0)
    except StartupError as error:  # DATA_DIR unusable or no valid saved state (SPEC §7)
        log.error("cannot start", extra={"event": "startup_failed", "error": str(error)})
        print(f"{prog}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
