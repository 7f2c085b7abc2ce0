"""The dashboard's frontend for the apps under test: built as the Docker image builds it (`reflex export
--frontend-only`), at most once per test run, and served by `fleet-dashboard serve`, which compiles nothing.

The build has a web directory of its own, outside the checkout's `.web` (which `make run` keeps using), and is
kept between runs: a run whose code, assets and frontend packages are the ones of the last build reuses it.
A build writes the backend's address (`ws://localhost:<PORT>/_event`, ...) into one small module of its bundle,
as an image is built for the port it will be published on; each server gets its own copy of the build
(hard links) with that module naming the server's own port."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from tests.support import leftovers

ROOT = Path(__file__).resolve().parents[2]
# One build directory per checkout; node_modules stays in it between runs.
CACHE = Path(tempfile.gettempdir()) / f"fleet-frontend-{hashlib.sha1(str(ROOT).encode()).hexdigest()[:12]}"
WEB = CACHE / ".web"
STAMP = CACHE / "inputs.sha256"
LOG = CACHE / "build.log"
# The port the build is made for: no server listens on it, each server's copy names its own instead.
BUILD_PORT = 39917
BUILD_TIMEOUT = 900
# What the build is made of: a change to any of these makes the next run build again.
INPUTS = ("fleet_dashboard", "assets", "reflex.lock", "rxconfig.py", "pyproject.toml")
_lock = threading.Lock()
_built: Path | None = None
_export_proc: subprocess.Popen | None = None


def inputs_digest() -> str:
    """A hash of every file the build reads from the checkout, of the Reflex packages and of the build port."""
    h = hashlib.sha256(f"{BUILD_PORT} {metadata.version('reflex')} {metadata.version('reflex-base')}".encode())
    for top in INPUTS:
        paths = [ROOT / top] if (ROOT / top).is_file() else sorted((ROOT / top).rglob("*"))
        for path in paths:
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


@contextlib.contextmanager
def _checkout_lock(mode: int) -> Iterator[None]:
    """Builds exclude each other and readers; another pytest in the same checkout may build or copy too."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "lock", "w") as lock:
        fcntl.flock(lock, mode)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build() -> Path:
    """The built web directory for the checkout as it is now: built at most once per process, not at all when the
    last build had the same inputs. Thread-safe: the session may start it in the background."""
    global _built
    with _lock:
        if _built is not None:
            return _built
        with _checkout_lock(fcntl.LOCK_EX):
            digest = inputs_digest()
            fresh = STAMP.exists() and STAMP.read_text() == digest and (WEB / "build/client/index.html").exists()
            if not fresh:
                STAMP.unlink(missing_ok=True)
                _export()
                STAMP.write_text(digest)
        _built = WEB
        return WEB


def prebuild() -> None:
    """build(), started early on a thread of its own; a failure is raised again where the build is needed."""
    with contextlib.suppress(Exception):
        build()


def start_prebuild() -> None:
    """prebuild() on a daemon thread."""
    threading.Thread(target=prebuild, name="frontend-build", daemon=True).start()


def cancel() -> None:
    """Stop a build still running (the session ended first): it and the npm and node processes it started."""
    proc = _export_proc
    if proc is not None and proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _export() -> None:
    global _export_proc
    env = {**os.environ, "PORT": str(BUILD_PORT), "ENVIRONMENT": "development", "REFLEX_USE_NPM": "1",
           "REFLEX_TELEMETRY_ENABLED": "false", "REFLEX_CHECK_LATEST_VERSION": "false",
           "REFLEX_WEB_WORKDIR": str(WEB), "PATH": f"{ROOT / '.venv/bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    for name in ("API_URL", "DATABASE_URL", "REDIS_URL", "REFLEX_REDIS_URL"):
        env.pop(name, None)
    started = time.monotonic()
    with open(LOG, "wb") as log:
        _export_proc = leftovers.popen([str(ROOT / ".venv/bin/reflex"), "export", "--frontend-only", "--no-zip",
                                        "--env", "prod"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        try:
            code = _export_proc.wait(BUILD_TIMEOUT)
        finally:
            cancel()
    if code != 0 or not (WEB / "build/client/index.html").exists():
        raise RuntimeError(f"the frontend build failed ({code}); {LOG}:\n{LOG.read_text()[-4000:]}")
    with open(LOG, "a") as log:
        log.write(f"\nbuilt in {time.monotonic() - started:.1f} s\n")


def _not_served(directory: str, names: list[str]) -> set[str]:
    """A server needs the built client and the small files its backend reads (routes.json, reflex.json,
    backend/*.json); not node_modules, nor the prerender's server build."""
    skip = {"node_modules", ".react-router"} & set(names)
    return skip | ({"server"} if Path(directory) == WEB / "build" else set())


def web_dir_for(port: int, into: Path) -> Path:
    """A web directory for a server on `port`: the build's files hard-linked, the backend address rewritten."""
    build_dir = build()
    with _checkout_lock(fcntl.LOCK_SH):
        shutil.copytree(build_dir, into, ignore=_not_served, copy_function=os.link, symlinks=True)
    old, new = f"//localhost:{BUILD_PORT}".encode(), f"//localhost:{port}".encode()
    patched = 0
    for path in (into / "build/client/assets").glob("*.js"):
        data = path.read_bytes()
        if old not in data:
            continue
        path.unlink()  # a hard link into the build: write a new file, never through the link
        path.write_bytes(data.replace(old, new))
        for sidecar in path.parent.glob(path.name + ".*"):  # the precompressed copies (.gz ...) name the old port
            sidecar.unlink()
        patched += 1
    if not patched:
        raise RuntimeError(f"no module of the build names the backend at localhost:{BUILD_PORT}")
    return into
