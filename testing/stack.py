"""The production stack as real processes, on a PostgreSQL and a Redis of its own (fault tests, bench/soak.py).

PostgreSQL is a fresh cluster (initdb into a temporary folder, as the `postgres` user when running as
root, since initdb refuses root) and Redis a fresh server, each on a free port, so tests can stop,
restart and pause them without touching the machine's shared services. Every process started here is
stopped by its own process id, never by name.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn_logged(args: list[str], log_path: Path, **popen: Any) -> subprocess.Popen:
    """Start a process whose output goes to the end of `log_path`."""
    with log_path.open("a") as log:
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, **popen)


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for folder in versions:
        if (folder / name).exists():
            return str(folder / name)
    raise FileNotFoundError(f"{name} not found (install PostgreSQL's server package)")


def have_services() -> str | None:
    """Why the fault stack cannot run here, or None."""
    for tool in ("initdb", "postgres"):
        try:
            _pg_bin(tool)
        except FileNotFoundError as exc:
            return str(exc)
    if shutil.which("redis-server") is None:
        return "redis-server not found"
    return None


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.05)


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Postgres:
    """A throwaway cluster: start(), stop() (fast shutdown by pid), kill(), pause()/resume()."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "pgdata"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self._as_postgres = os.geteuid() == 0
        self.data.mkdir(parents=True)
        if self._as_postgres:
            shutil.chown(folder, "postgres")
            shutil.chown(self.data, "postgres")
        self._run([_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                   "--no-sync", "--no-instructions"])

    def _as(self) -> dict[str, Any]:
        # initdb and postgres refuse to run as root: the child drops to the postgres user before exec.
        return {"user": "postgres", "group": "postgres", "extra_groups": []} if self._as_postgres else {}

    def _run(self, args: list[str]) -> None:
        subprocess.run(args, check=True, capture_output=True, cwd=self.folder, **self._as())

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/oneclick"

    def start(self) -> None:
        # The process id is the postmaster's own, so signals reach it directly.
        self.proc = spawn_logged(
            [_pg_bin("postgres"), "-D", str(self.data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.folder}",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "max_connections=200"],
            self.folder / "postgres.log", cwd=self.folder, **self._as(),
        )
        _wait(self.ready, 30, "PostgreSQL start")

    def ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(f"postgres://postgres@127.0.0.1:{self.port}/postgres", connect_timeout=1):
                return True
        except psycopg.Error:
            return False

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(f"postgres://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE oneclick")

    def _signal(self, sig: int) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)

    def stop(self) -> None:
        """Fast shutdown (SIGINT): sessions are terminated, as in a routine restart."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self._signal(signal.SIGINT)
        self.proc.wait(timeout=30)
        _wait(lambda: not _port_open(self.port), 10, "PostgreSQL stop")

    def pause(self) -> None:
        self._postmaster_tree(signal.SIGSTOP)

    def resume(self) -> None:
        self._postmaster_tree(signal.SIGCONT)

    def _postmaster_tree(self, sig: int) -> None:
        """Every server process of this cluster (postmaster and backends), found by their parent pid."""
        assert self.proc is not None
        pid = self.proc.pid
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        for child in [pid, *map(int, children)]:
            try:
                os.kill(child, sig)
            except ProcessLookupError:
                pass


class Redis:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = spawn_logged(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            self.folder / "redis.log",
        )
        _wait(lambda: _port_open(self.port), 15, "Redis start")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        self.proc.wait(timeout=15)

    def pause(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)


@dataclass
class Hooks:
    """A webhook receiver on 127.0.0.1: records every delivery by event_id and answers after `delay`."""

    url: str = ""
    delay: float = 0.0
    delays: dict[str, float] = field(default_factory=dict)  # by path, over `delay`
    seen: dict[str, int] = field(default_factory=dict)
    arrived: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    peak_in_flight: int = 0

    def count(self, event_id: str) -> int:
        with self.lock:
            return self.seen.get(event_id, 0)


class _BurstServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # listen()'s backlog: a worker's burst of connections is not dropped


@contextmanager
def hooks_server() -> Iterator[Hooks]:
    hooks = Hooks()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                event_id = json.loads(body).get("event_id", "")
            except ValueError:
                event_id = ""
            with hooks.lock:
                hooks.seen[event_id] = hooks.seen.get(event_id, 0) + 1
                hooks.arrived.setdefault(event_id, time.time())
                hooks.in_flight += 1
                hooks.peak_in_flight = max(hooks.peak_in_flight, hooks.in_flight)
            delay = hooks.delays.get(self.path, hooks.delay)
            if delay:
                time.sleep(delay)
            with hooks.lock:
                hooks.in_flight -= 1
            answer = json.dumps({"message_type": "success", "message": f"Received {event_id}"}).encode()
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except OSError:
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = _BurstServer(("127.0.0.1", 0), Handler)
    hooks.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield hooks
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Answer:
    status: int
    body: Any
    seconds: float
    headers: dict[str, str]


def call(method: str, url: str, body: Any = None, token: str | None = None, timeout: float = 10) -> Answer:
    """One HTTP request; connection failures come back as status 0 (never raised)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw, status, headers = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        raw, status, headers = exc.read(), exc.code, dict(exc.headers)
    except (OSError, urllib.error.URLError):
        return Answer(0, None, time.monotonic() - started, {})
    seconds = time.monotonic() - started
    try:
        parsed: Any = json.loads(raw)
    except ValueError:
        parsed = raw.decode("utf-8", "replace")
    return Answer(status, parsed, seconds, headers)


# The web runs at a lower CPU priority than the delivery worker, as the README's commands start it
# (nice -n 10) and docker-compose weighs it (cpu_shares): on a full CPU, the webhooks of accepted clicks
# go out before more clicks are accepted (docs/decisions.md, bench/click_to_webhook.py --scenario steady).
WEB_NICE = 10


def _lower_session_priority(pid: int, nice: int) -> None:
    """Every process here leads a session of its own, and with autogroup scheduling (Linux's default
    where it is built in) the kernel shares the CPU between sessions before processes: a process's
    niceness then counts only inside its session, so the session's own is set as well."""
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))
    except OSError:  # no autogroup scheduling here, or not allowed: the process's niceness alone decides
        pass


class Stack:
    """gunicorn (uvicorn workers), a delivery worker, a housekeeping worker and beat, in production mode."""

    def __init__(self, folder: Path, database_url: str, broker_url: str, *, web_workers: int = 2,
                 web_nice: int = WEB_NICE, extra_env: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DJANGO_", "DATABASE_"))},
            "DJANGO_SETTINGS_MODULE": "oneclick.settings",
            "DJANGO_SECRET_KEY": "fault-tests-only-secret-key-0123456789abcdef",
            "ENCRYPTION_KEYS": "dGVzdHMtb25seS1lbmNyeXB0aW9uLWtleS0wMTIzNDU=",  # tests only
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",  # the receiver listens on 127.0.0.1
            "ONECLICK_LOCAL": "false",
            "LOG_FORMAT": "json",
            "CELERY_BEAT_SCHEDULE_FILENAME": str(folder / "celerybeat-schedule"),
            **(extra_env or {}),
        }
        self.web_workers, self.web_nice = web_workers, web_nice
        self.procs: dict[str, subprocess.Popen] = {}

    def manage(self, *args: str) -> str:
        done = subprocess.run([str(VENV_BIN / "python"), "manage.py", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def log_path(self, name: str) -> Path:
        return self.folder / f"{name}.log"

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        proc = spawn_logged(args, self.log_path(name), cwd=ROOT, env=self.env, start_new_session=True)
        self.procs[name] = proc
        return proc

    def start_web(self) -> None:
        web = self._spawn("web", ["nice", "-n", str(self.web_nice), str(VENV_BIN / "gunicorn"),
                                  "oneclick.asgi:application", "-k", "uvicorn_worker.UvicornWorker",
                                  "-w", str(self.web_workers), "-b", f"127.0.0.1:{self.port}",
                                  "--graceful-timeout", "5"])
        _lower_session_priority(web.pid, self.web_nice)
        _wait(lambda: call("GET", f"{self.base}/login/", timeout=2).status == 200, 40, "the web server's start")

    def start_worker(self, name: str = "worker", pool: str = "gevent", concurrency: int = 2000) -> None:
        log = self.log_path(name)
        started_before = log.read_text().count(" ready.") if log.exists() else 0  # a restart appends
        self._spawn(name, [str(VENV_BIN / "celery"), "-A", "oneclick", "worker", "-Q", "deliveries",
                           f"--pool={pool}", f"--concurrency={concurrency}", "--loglevel=INFO", "-n", f"{name}@%h",
                           "--without-gossip", "--without-mingle"])
        _wait(lambda: log.read_text().count(" ready.") > started_before, 40, f"the {name}'s start")

    def start_housekeeping(self) -> None:
        self._spawn("housekeeping", [str(VENV_BIN / "celery"), "-A", "oneclick", "worker", "-Q", "housekeeping",
                                     "--pool=threads", "--concurrency=2", "--loglevel=INFO", "-n", "housekeeping@%h",
                                     "--without-gossip", "--without-mingle"])
        _wait(lambda: " ready." in self.log_path("housekeeping").read_text(), 40, "the housekeeping worker's start")

    def start_beat(self) -> None:
        self._spawn("beat", [str(VENV_BIN / "celery"), "-A", "oneclick", "beat", "--loglevel=INFO"])

    def start(self) -> None:
        self.manage("migrate", "--noinput", "-v", "0")
        self.start_web()
        self.start_worker()
        self.start_housekeeping()
        self.start_beat()

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal one process group (the process and its children: gunicorn's or Celery's pool)."""
        proc = self.procs[name]
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        if sig in (signal.SIGKILL, signal.SIGTERM):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def stop(self) -> None:
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM)
        self.procs.clear()

    def pids(self, name: str) -> set[int]:
        """A process and the rest of its group (gunicorn's workers, Celery's pool)."""
        proc = self.procs[name]
        return {proc.pid, *map(int, subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True,
                                                  text=True).stdout.split())}

    def rss_mb(self, name: str) -> float:
        """Resident memory of a process and its children (gunicorn's workers, Celery's pool)."""
        return sum(map(rss_kb, self.pids(name))) / 1024


def rss_kb(pid: int) -> int:
    """A process's resident memory in KB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Company:
    """A company with an admin, an API token and one messaging button wired to the receiver."""

    token: str
    button: str


def set_up_company(stack: Stack, hooks_url: str, company: str = "737569", username: str = "alice") -> Company:
    """`hooks_url` may carry a path of its own (Hooks.delays answers each path after its own delay)."""
    stack.manage("createmember", username, "--password", "pw-faults-123", "--company", company, "--admin")
    token = call("POST", f"{stack.base}/api/auth/token/", {"username": username, "password": "pw-faults-123"}).body
    answer = call("POST", f"{stack.base}/api/buttons/", {
        "label": "Create invoice", "kind": "webhook", "url": hooks_url, "resource": "deal", "view": "details",
        "messaging_enabled": True,
    }, token=token["token"])
    if answer.status != 201:
        raise RuntimeError(f"could not create the button: {answer.status} {answer.body}")
    return Company(token=token["token"], button=answer.body["identifier"])


def click(stack: Stack, company: Company, record: str = "42", timeout: float = 10) -> Answer:
    return call("POST", f"{stack.base}/api/buttons/{company.button}/click",
                {"resource": "deal", "view": "details", "selectedIds": record}, token=company.token, timeout=timeout)


def event(stack: Stack, company: Company, event_id: str) -> Answer:
    return call("GET", f"{stack.base}/api/events/{event_id}/", token=company.token)


@contextmanager
def services(keep: bool = False) -> Iterator[tuple[Path, Postgres, Redis]]:
    """A temporary folder with a PostgreSQL cluster and a Redis server of their own, stopped afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="oneclick-faults-"))
    postgres = Postgres(folder)
    redis = Redis(folder)
    try:
        postgres.start()
        postgres.create_database()
        redis.start()
        yield folder, postgres, redis
    finally:
        for service in (postgres, redis):
            try:
                service.resume()
            except Exception:  # noqa: BLE001 - it was not paused, or is gone already
                pass
        postgres.stop()
        redis.stop()
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def session_cookie(stack: Stack, username: str, password: str) -> str:
    """Sign in through the login page as a browser does; returns the Cookie header of the session.

    The cookies are kept by hand: production marks them Secure, which a cookie jar would not send back
    over the stack's plain http on 127.0.0.1."""
    import http.cookies
    import re

    cookies: dict[str, str] = {}

    def keep(headers: Any) -> None:
        for header in headers.get_all("Set-Cookie") or []:
            cookies.update({name: morsel.value for name, morsel in http.cookies.SimpleCookie(header).items()})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with opener.open(f"{stack.base}/login/", timeout=10) as response:
        form = response.read().decode()
        keep(response.headers)
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    if found is None:
        raise RuntimeError("the login page has no CSRF token")
    data = urllib.parse.urlencode({"username": username, "password": password,
                                   "csrfmiddlewaretoken": found.group(1)}).encode()
    request = urllib.request.Request(f"{stack.base}/login/", data=data, headers={
        "Referer": f"{stack.base}/login/", "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
    try:
        with opener.open(request, timeout=10) as response:
            keep(response.headers)
    except urllib.error.HTTPError as exc:  # the redirect after signing in
        keep(exc.headers)
    if "sessionid" not in cookies:
        raise RuntimeError(f"signing in as {username} failed")
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


@dataclass
class LiveStream:
    """One open GET /api/stream/... as a panel holds it: its status and the events it received, each
    with the time.monotonic() of its arrival."""

    status: int = 0
    events: list[tuple[float, str, dict]] = field(default_factory=list)
    ready: Any = None  # an asyncio.Event, set at the "ready" event (or at a refusal)
    task: Any = None

    def logs(self) -> list[tuple[float, dict]]:
        return [(at, data) for at, event, data in self.events if event == "log"]


async def open_stream(port: int, path: str, cookie: str) -> LiveStream:
    """Open a live stream on a raw connection (a few KB each, so thousands fit in one client process) and
    read its server-sent events in a task until closed with close_streams()."""
    import asyncio

    stream = LiveStream(ready=asyncio.Event())

    async def read() -> None:
        writer = None
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
                         "Accept: text/event-stream\r\n\r\n".encode())
            await writer.drain()
            stream.status = int((await reader.readline()).split()[1])
            while (await reader.readline()) not in (b"\r\n", b""):
                pass  # the headers
            if stream.status != 200:
                return
            buffer = b""
            while True:  # chunked transfer encoding: a size line, the data, a blank line
                size = int((await reader.readline()).strip() or b"0", 16)
                if size == 0:
                    return
                buffer += await reader.readexactly(size)
                await reader.readexactly(2)
                while b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    lines = dict(line.split(": ", 1) for line in block.decode().splitlines() if ": " in line)
                    if "event" in lines:
                        stream.events.append((time.monotonic(), lines["event"], json.loads(lines["data"])))
                        if lines["event"] == "ready":
                            stream.ready.set()
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            pass
        finally:
            stream.ready.set()
            if writer is not None:
                writer.close()

    stream.task = asyncio.ensure_future(read())
    return stream


async def close_streams(streams: list[LiveStream]) -> None:
    import asyncio

    for stream in streams:
        stream.task.cancel()
    await asyncio.gather(*(stream.task for stream in streams), return_exceptions=True)


class PartitionUnavailable(RuntimeError):
    """The partition could not be made here (no tc, no permission, loopback already shaped)."""


PARTITION_HANDLE = "7a11"  # the loopback root qdisc this harness adds, and only removes if it is its own


def _tc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["tc", *args], capture_output=True, text=True)


@contextmanager
def partitioned(*ports: int) -> Iterator[None]:
    """Packets to and from these loopback ports are held, not dropped and not refused: connections stay
    open and nothing arrives, as in a network partition or a failover that black-holes packets.

    An htb class at 8 bit/s with a deep queue, fed by u32 filters on each port in both directions, on a
    root qdisc of the loopback device whose default class (100 Gbit/s) carries all other traffic as
    before. What was added is removed in every case; the held packets are dropped with it, and TCP
    retransmits what is still wanted. Raises PartitionUnavailable with the reason if it cannot be made.
    """
    if shutil.which("tc") is None:
        raise PartitionUnavailable("tc (iproute2) is not installed")
    current = _tc("qdisc", "show", "dev", "lo").stdout
    if not current.startswith("qdisc noqueue"):
        raise PartitionUnavailable(f"the loopback device already has a queueing discipline: {current.strip()}")
    steps = [
        ["qdisc", "add", "dev", "lo", "root", "handle", f"{PARTITION_HANDLE}:", "htb", "default", "1"],
        ["class", "add", "dev", "lo", "parent", f"{PARTITION_HANDLE}:", "classid", f"{PARTITION_HANDLE}:1",
         "htb", "rate", "100gbit"],
        ["class", "add", "dev", "lo", "parent", f"{PARTITION_HANDLE}:", "classid", f"{PARTITION_HANDLE}:2",
         "htb", "rate", "8bit", "ceil", "8bit", "burst", "1", "cburst", "1"],
        ["qdisc", "add", "dev", "lo", "parent", f"{PARTITION_HANDLE}:2", "pfifo", "limit", "100000"],
    ]
    for port in ports:
        for direction in ("dport", "sport"):
            steps.append(["filter", "add", "dev", "lo", "parent", f"{PARTITION_HANDLE}:", "protocol", "ip",
                          "prio", "1", "u32", "match", "ip", direction, str(port), "0xffff",
                          "flowid", f"{PARTITION_HANDLE}:2"])
    try:
        for step in steps:
            done = _tc(*step)
            if done.returncode:
                raise PartitionUnavailable(f"tc {' '.join(step)} failed: {done.stderr.strip()}")
        yield
    finally:
        if f"qdisc htb {PARTITION_HANDLE}: root" in _tc("qdisc", "show", "dev", "lo").stdout:
            _tc("qdisc", "del", "dev", "lo", "root")
