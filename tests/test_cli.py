"""The CLI as a user runs it: real processes, real Redis."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES
from invariants import index_violations

from dedup_service.config import IndexLayout
from dedup_service.keys import key_layout, partition_names

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
    refused = run("ingest", str(path), "--redis-url", redis_url, "--key-prefix", key_prefix)
    assert refused.returncode == 2 and f"no index at {redis_url} (key prefix '{key_prefix}')" in refused.stderr
    done = run("ingest", str(path), "--redis-url", redis_url, "--key-prefix", key_prefix, "--create")
    assert done.returncode == 1, done.stderr  # some lines were refused
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["new"] == 2 and summary["duplicates"] == 1 and summary["errors"] == 2
    assert f"{path}:2: skipped: not valid JSON" in done.stderr
    assert f"{path}:4: skipped: text: required" in done.stderr

    checked = run("check", "-", "--redis-url", redis_url, "--key-prefix", key_prefix, stdin=AGENCY)
    assert checked.returncode == 0, checked.stderr
    verdict = json.loads(checked.stdout)
    assert verdict["relation"] == "exact" and {m["id"] for m in verdict["matches"]} == {"a", "b"}


def test_settings_errors_are_one_line_not_a_traceback(redis_url: str) -> None:
    done = run("eval", str(FIXTURES / "agency_body.txt"), "--redis-url", redis_url, "--threshold", "2")
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


def _serve(data_dir: Path, port: int, *flags: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DEDUP_")}, **(env or {})}
    log = data_dir.parent / "serve.log"
    with log.open("a") as out:
        proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--data-dir", str(data_dir), *flags], env=env, text=True,
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


def test_a_second_serve_on_one_data_dir_is_refused_and_the_first_keeps_serving(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", _free_port()
    proc = _serve(data_dir, port)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEDUP_")}
        second = subprocess.run([*CLI, "serve", "--port", str(_free_port()), "--data-dir", str(data_dir)],
                                env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert second.returncode == 2
        assert f"already served (pid {proc.pid})" in second.stderr
        assert _request(f"http://127.0.0.1:{port}/v1/articles", {"id": "a", "text": AGENCY})[0] == 201
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    # the lock goes with its process: the next serve starts
    proc = _serve(data_dir, port)
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
    assert done.returncode == 1, done.stderr  # some lines were refused
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (summary["new"], summary["duplicates"], summary["errors"]) == (2, 1, 2)
    assert f"{path}:2: skipped: not valid JSON" in done.stderr
    assert f"{path}:4: skipped: text: required" in done.stderr
    unreachable = run("ingest", str(path), "--url", f"http://127.0.0.1:{_free_port()}")
    assert unreachable.returncode == 2 and "cannot reach" in unreachable.stderr


@pytest.mark.parametrize("backend", ["single", "cluster", "partitioned"])
def test_killing_the_service_mid_batch_leaves_a_consistent_index(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    """SIGKILL while a batch of stories and their copies is being written: the index is
    consistent at once (one partition: each write is one atomic call), or once the repair
    sweep has run (partitioned: a write is several), and each copy written before the
    kill is in its story's cluster after the sweep."""
    import asyncio
    import threading

    import redis

    from dedup_service import Settings
    from dedup_service.runtime import open_service

    n = 500
    stories = [f"Story {i}: " + " ".join(f"w{i}x{j}" for j in range(60)) for i in range(n)]
    batch = [{"id": f"s{i}", "text": t} for i, t in enumerate(stories)]
    batch += [{"id": f"copy{i}", "text": t.upper()} for i, t in enumerate(stories)]
    data_dir, port = tmp_path / "data", _free_port()
    prefix = f"kill-{backend}-{port}"
    flags = ["--key-prefix", prefix]
    on_cluster, partitions = backend != "single", 6 if backend == "partitioned" else 1
    if on_cluster:
        flags += ["--redis-url", request.getfixturevalue("cluster_url"), "--redis-cluster", "1"]
    env = {"DEDUP_PARTITIONS": str(partitions)}
    proc = _serve(data_dir, port, *flags, env=env)
    url = flags[3] if on_cluster else (data_dir / "redis.url").read_text().strip()
    r: Any = redis.RedisCluster.from_url(url) if on_cluster else redis.Redis.from_url(url)
    ids = [key_layout(name)["ids"] for name in partition_names(prefix, partitions)]
    body = json.dumps(batch).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/articles:batch", data=body,
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    threading.Thread(target=lambda: _swallow(req), daemon=True).start()
    deadline = time.monotonic() + 60
    while sum(r.hlen(key) for key in ids) < n + 100 and time.monotonic() < deadline:  # some copies are in
        time.sleep(0.005)
    proc.kill()  # SIGKILL mid-batch; an embedded redis-server gets SIGTERM and flushes its AOF
    proc.wait(timeout=30)
    time.sleep(0.5)
    proc = _serve(data_dir, port, *flags, env=env)
    try:
        if backend == "single":  # the restarted service's embedded Redis, on a new socket
            url = (data_dir / "redis.url").read_text().strip()
            r.close()
            r = redis.Redis.from_url(url)
        if partitions == 1:
            assert index_violations(r, prefix) == []
        settings = Settings(redis_url=url, redis_cluster=on_cluster, key_prefix=prefix,
                            layout=IndexLayout(partitions=partitions))  # fmt: skip

        async def repaired() -> list[str | None]:
            async with open_service(settings) as dedup:
                await dedup.repair(older_than=0)
                indexed = [i for i in range(n) if await dedup.index.clusters([f"copy{i}"]) != [None]]
                pairs = [await dedup.index.clusters([f"s{i}", f"copy{i}"]) for i in indexed]
                return [a if a == b else None for a, b in pairs]

        clusters = asyncio.run(repaired())
        assert clusters and all(clusters), "a copy indexed before the kill is not in its original's cluster"
        assert index_violations(r, prefix, partitions) == []
    finally:
        # a sync RedisCluster's close() leaves its nodes' pools open (they were handed to it)
        for node in r.get_nodes() if on_cluster else []:
            node.redis_connection.connection_pool.disconnect()
        r.close()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def _swallow(req: urllib.request.Request) -> None:
    with contextlib.suppress(OSError):  # the service is killed under this request
        urllib.request.urlopen(req, timeout=30).read()


def test_serving_tunes_the_garbage_collector() -> None:
    import gc

    from dedup_service.cli import tune_gc
    from dedup_service.constants import GC_THRESHOLDS

    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == GC_THRESHOLDS and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_common_mistakes_are_one_line_and_exit_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEDUP_")}
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(json.dumps({"id": "a", "text": AGENCY}) + "\n")
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("x")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        cases = {
            "no such file: missing.txt": ["check", "missing.txt"],
            "--url must start with http:// or https://": ["ingest", str(jsonl), "--url", "localhost:8080"],
            "address already in use": ["serve", "--port", port, "--data-dir", str(tmp_path / "data")],
            str(a_file): ["serve", "--port", str(_free_port()), "--data-dir", str(a_file / "data")],
        }
        for expected, args in cases.items():
            done = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
            assert done.returncode == 2, (args, done.stderr)
            assert expected in done.stderr.lower() or expected in done.stderr, (args, done.stderr)
            assert "Traceback" not in done.stderr, (args, done.stderr)


def test_serve_says_where_it_listens_and_which_redis_it_uses(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", _free_port()
    proc = _serve(data_dir, port)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    log = (tmp_path / "serve.log").read_text()
    assert f"listening on http://127.0.0.1:{port} (Redis: embedded, data in {data_dir.resolve()})" in log, log


def _clean_env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("DEDUP_")}, **extra}


def test_each_help_fits_a_screen_and_shows_its_own_options() -> None:
    env = _clean_env(COLUMNS="80")
    helps = {cmd: subprocess.run([*CLI, *([cmd] if cmd else []), "--help"], env=env, capture_output=True, text=True,
                                 timeout=60).stdout for cmd in ("", "serve", "ingest", "check", "eval")}  # fmt: skip
    for cmd, text in helps.items():
        assert 10 < len(text.splitlines()) <= 50, (cmd, text)
    assert all(cmd in helps[""] for cmd in ("serve", "ingest", "check", "eval"))
    assert "--webhook-secret" in helps["serve"] and "--port" in helps["serve"]
    for cmd in ("ingest", "check", "eval"):
        assert "--webhook-secret" not in helps[cmd] and "--port" not in helps[cmd], cmd
    assert "--url" in helps["check"] and "--create" in helps["ingest"] and "--threshold" in helps["eval"]
    assert "a plain text file, a .jsonl file of articles, or - for stdin" in " ".join(helps["check"].split())


def test_a_local_index_is_named_and_never_made_unasked(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    story = tmp_path / "story.txt"
    story.write_text(AGENCY)
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(json.dumps({"id": "a", "text": AGENCY, "cluster": 7, "date": "2026-11-24"}) + "\n")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], env=_clean_env(), capture_output=True, text=True, timeout=60, cwd=sub)

    for args in (["check", "../story.txt"], ["ingest", "../a.jsonl"]):
        done = cli(*args)
        assert done.returncode == 2 and f"no index at {sub / 'data'} (embedded Redis)" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and not (sub / "data").exists()
    assert "--create" in cli("ingest", "../a.jsonl").stderr
    done = cli("ingest", "../a.jsonl", "--create")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["new"] == 1 and summary["fields_left_out"] == {"cluster": 1}
    assert "a.jsonl:1: left out, not article fields: cluster" in done.stderr
    assert f"index: {sub / 'data'} (embedded Redis)" in done.stderr
    done = cli("check", "../story.txt")
    assert done.returncode == 0 and json.loads(done.stdout)["relation"] == "exact", done.stderr


def test_check_and_ingest_ask_a_running_service_with_url_or_dedup_url(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(tmp_path / "data", port)
    try:
        _request(f"{base}/v1/articles", {"id": "wire", "text": AGENCY})
        story = tmp_path / "story.txt"
        story.write_text(AGENCY.upper())
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()  # no index here: the answers come from the service
        for args, env in ((["check", str(story), "--url", base], _clean_env()),
                          (["check", str(story)], _clean_env(DEDUP_URL=base))):  # fmt: skip
            done = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=60, cwd=elsewhere)
            assert done.returncode == 0, done.stderr
            verdict = json.loads(done.stdout)
            assert verdict["relation"] == "exact" and [m["id"] for m in verdict["matches"]] == ["wire"]
        bad = tmp_path / "bad.jsonl"
        bad.write_text(json.dumps({"id": "x", "text": "..."}) + "\n")
        done = subprocess.run([*CLI, "check", str(bad), "--url", base], env=_clean_env(), capture_output=True,
                              text=True, timeout=60)  # fmt: skip
        assert done.returncode == 1 and json.loads(done.stdout) == {"line": 1, "error": "text: contains no words"}
        assert not (elsewhere / "data").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def test_more_mistakes_are_one_line(tmp_path: Path) -> None:
    text = tmp_path / "body.txt"
    text.write_text(AGENCY)
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(json.dumps({"id": "a", "text": AGENCY}) + "\n")
    cases = {
        f"{text} is not JSONL: line 1 is not a JSON object": (["ingest", str(text)], {}),
        "Redis unreachable, redis://127.0.0.1:1 (key prefix 'dedup')": (
            ["ingest", str(jsonl), "--redis-url", "redis://127.0.0.1:1", "--create"], {}),
        "DEDUP_LOG_FORMAT must be json or text, got 'xml'": (["check", str(text)], {"DEDUP_LOG_FORMAT": "xml"}),
    }  # fmt: skip
    for expected, (args, env) in cases.items():
        done = subprocess.run([*CLI, *args], env=_clean_env(**env), capture_output=True, text=True, timeout=60,
                              cwd=tmp_path)  # fmt: skip
        assert done.returncode == 2, (args, done.stderr)
        assert expected in done.stderr.splitlines()[-1], (args, done.stderr)
        assert "Traceback" not in done.stderr, (args, done.stderr)


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_logs_come_in_the_chosen_format(tmp_path: Path, log_format: str) -> None:
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(json.dumps({"id": "a", "text": AGENCY}) + "\n")
    done = subprocess.run([*CLI, "ingest", str(jsonl), "--create"], env=_clean_env(DEDUP_LOG_FORMAT=log_format),
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    logged = [line for line in done.stderr.splitlines() if "index: " in line]
    assert len(logged) == 1
    if log_format == "json":
        assert json.loads(logged[0])["message"] == f"index: {tmp_path / 'data'} (embedded Redis)"
    else:
        assert logged[0].endswith(f"INFO dedup_service.cli: index: {tmp_path / 'data'} (embedded Redis)")


def test_ctrl_c_stops_an_ingest_with_a_partial_summary(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    with path.open("w") as fh:
        for i in range(20_000):
            fh.write(json.dumps({"id": f"b{i}", "text": " ".join(f"w{i}x{j}" for j in range(40))}) + "\n")
    proc = subprocess.Popen(
        [*CLI, "ingest", str(path), "--create"], env=_clean_env(), cwd=tmp_path, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a terminal's foreground job has it
    )  # fmt: skip
    assert proc.stderr is not None
    for line in iter(proc.stderr.readline, ""):  # started: the progress bar moves
        if "/20000" in line and " 0/20000" not in line:
            break
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    summary = json.loads(out)
    assert summary["interrupted"] is True and 0 < summary["new"] < 20_000
    assert "interrupted at line" in err and "Traceback" not in err
    again = subprocess.run([*CLI, "ingest", str(path)], env=_clean_env(), cwd=tmp_path, capture_output=True,
                           text=True, timeout=300)  # fmt: skip
    resumed = json.loads(again.stdout)
    assert again.returncode == 0 and resumed["unchanged"] >= summary["new"] and resumed["articles"] == 20_000
