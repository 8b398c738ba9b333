"""The CLI as a user runs it: real processes, real Redis."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import FIXTURES

CLI = [sys.executable, "-m", "dedup_service.cli"]
AGENCY = (FIXTURES / "agency_body.txt").read_text()


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_ingest_reports_counts_and_skips_bad_lines(tmp_path: Path, redis_url: str, key_prefix: str) -> None:
    lines = [
        json.dumps({"id": "a", "text": AGENCY, "site": "one"}),
        "{broken json",
        json.dumps({"id": "b", "text": AGENCY.upper(), "site": "two"}),
        json.dumps({"id": "c", "title": "no text"}),
        "",
        json.dumps({"id": "d", "text": "A short unrelated note about the weather in a faraway town."}),
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    done = run("ingest", str(path), "--redis-url", redis_url, "--key-prefix", key_prefix)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["new"] == 2 and summary["duplicates"] == 1 and summary["errors"] == 2
    assert f"{path}:2: skipped: not valid JSON" in done.stderr
    assert f"{path}:4: skipped: text: required" in done.stderr

    checked = run("check", "-", "--redis-url", redis_url, "--key-prefix", key_prefix, stdin=AGENCY)
    assert checked.returncode == 0, checked.stderr
    verdict = json.loads(checked.stdout)
    assert verdict["relation"] == "exact" and {m["id"] for m in verdict["matches"]} == {"a", "b"}


def test_settings_errors_are_one_line_not_a_traceback(redis_url: str) -> None:
    done = run("check", "-", "--redis-url", redis_url, "--threshold", "2", stdin="x")
    assert done.returncode == 2 and done.stderr.strip() == "dedup-service: threshold must be in (0, 1]"
    env_done = subprocess.run(
        [*CLI, "check", "-"], input="x", capture_output=True, text=True, timeout=60,
        env={**os.environ, "DEDUP_NUM_PERM": "many"},
    )  # fmt: skip
    assert env_done.returncode == 2 and "DEDUP_NUM_PERM" in env_done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(url: str, body: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, json.loads(resp.read())


def _serve(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEDUP_")}
    log = data_dir.parent / "serve.log"
    with log.open("a") as out:
        proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--data-dir", str(data_dir)], env=env, text=True,
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            if _request(f"http://127.0.0.1:{port}/readyz")[0] == 200:
                return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"serve did not start: {log.read_text()}") from None
            time.sleep(0.1)


def test_serve_with_embedded_redis_persists_across_restarts(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(data_dir, port)
    try:
        status, _ = _request(f"{base}/v1/articles", {"id": "kept", "text": AGENCY})
        assert status == 201
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert (data_dir / "appendonly.aof").stat().st_size > 0
    assert not (data_dir / "redis.url").exists()  # the embedded server stopped with the service
    proc = _serve(data_dir, port)
    try:
        status, found = _request(f"{base}/v1/check", {"text": AGENCY})
        assert status == 200 and [m["id"] for m in found["matches"]] == ["kept"]  # type: ignore[index]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def test_ingest_sends_a_file_to_a_running_service(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "a", "text": AGENCY}),
        "not json",
        json.dumps({"id": "b", "text": AGENCY.upper()}),
        json.dumps({"id": "c"}),
        json.dumps({"id": "d", "text": "A short unrelated note about the weather in a faraway town."}),
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    port = _free_port()
    proc = _serve(tmp_path / "data", port)
    try:
        done = run("ingest", str(path), "--url", f"http://127.0.0.1:{port}", "--batch-size", "2")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (summary["new"], summary["duplicates"], summary["errors"]) == (2, 1, 2)
    assert f"{path}:2: skipped: not valid JSON" in done.stderr
    assert f"{path}:4: skipped: text: required" in done.stderr
    unreachable = run("ingest", str(path), "--url", f"http://127.0.0.1:{_free_port()}")
    assert unreachable.returncode == 2 and "cannot reach" in unreachable.stderr
