"""Docker, without a Docker engine: the compose file and the Dockerfile say what the
README promises, and the image's command starts with the image's configuration."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from conftest import REPO


def _compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def _final_stage() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile's last stage, continuation lines joined."""
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    steps = [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in lines]
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def _env(stage: list[tuple[str, str]]) -> dict[str, str]:
    return dict(pair.split("=", 1) for op, args in stage if op == "ENV" for pair in shlex.split(args))


def test_compose_builds_one_image_publishes_on_loopback_and_restarts() -> None:
    services = _compose()["services"]
    dedup = {name: s for name, s in services.items() if name != "redis"}
    assert len(dedup) >= 2
    assert [name for name, s in dedup.items() if "build" in s] == ["dedup"]  # built once
    assert {s["image"] for s in dedup.values()} == {"dedup-service:local"}
    assert all(s.get("pull_policy") == "never" for s in dedup.values() if "build" not in s)
    for name, s in services.items():
        assert s.get("restart") in ("always", "unless-stopped"), name
        for port in s.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)
    assert "ports" not in services["redis"]  # Redis is reached inside the compose network only
    assert services["redis"]["volumes"] == ["redis-data:/data"] and "redis-data" in _compose()["volumes"]
    for s in dedup.values():
        env = s["environment"]
        assert env["DEDUP_REDIS_URL"] == "redis://redis:6379/0"
        assert env["DEDUP_API_KEYS"] == "${DEDUP_API_KEYS:-}"  # passed through from the shell or .env


def test_the_image_runs_as_its_own_user_with_data_in_a_volume() -> None:
    stage = _final_stage()
    users = [args for op, args in stage if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    env = _env(stage)
    volumes = [v for op, args in stage if op == "VOLUME" for v in shlex.split(args)]
    assert env["DEDUP_DATA_DIR"] in volumes
    assert f"chown {users[-1]}:{users[-1]} {env['DEDUP_DATA_DIR']}" in " ".join(args for op, args in stage)
    assert [args for op, args in stage if op == "EXPOSE"] == [env["DEDUP_PORT"]]
    cmd = json.loads(next(args for op, args in stage if op == "CMD"))
    assert cmd == ["dedup-service", "serve"]


def test_the_build_context_leaves_out_what_the_image_does_not_need() -> None:
    ignored = {ln.strip() for ln in (REPO / ".dockerignore").read_text().splitlines()
               if ln.strip() and not ln.startswith("#")}  # fmt: skip
    assert {".git", ".venv", "data", "tests"} <= ignored
    copied = [src for line in (REPO / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")
              and "--from" not in line for src in line.split()[1:-1]]  # fmt: skip
    assert copied and all((REPO / src).exists() and src not in ignored for src in copied)


def test_the_image_command_serves_with_the_image_configuration(tmp_path: Path) -> None:
    """The image's CMD and ENV, run here: another port (this machine's 8080 may be taken)
    and a temporary folder for the volume."""
    stage = _final_stage()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEDUP_")}
    env |= _env(stage) | {"DEDUP_PORT": str(port), "DEDUP_DATA_DIR": str(tmp_path / "data")}
    cmd = json.loads(next(args for op, args in stage if op == "CMD"))
    exe = Path(sys.executable).with_name(cmd[0])
    proc = subprocess.Popen([str(exe), *cmd[1:]], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as resp:
                    assert resp.status == 200
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "the image's command did not serve"
                time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]  # DEDUP_LOG_FORMAT=json
    assert any(f"listening on http://0.0.0.0:{port}" in rec["message"] for rec in logged), err
    assert (tmp_path / "data" / "appendonly.aof").exists()
