"""The README's promises: its first two commands, CI running exactly the second, and every
example run as written against a live `serve`, its output checked against the comments
under each command."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import REPO

README = (REPO / "README.md").read_text()
# a value as the README's output comments show it: a string, number, literal or empty list
_PAIR = re.compile(r'"(\w+)":("[^"]*"|-?[\d.]+|null|true|false|\[\])')


def _blocks(lang: str = "bash") -> list[str]:
    return re.findall(rf"```{lang}\n(.+?)\n```", README, re.S)


def test_readme_opens_with_serve_and_test_commands() -> None:
    serve, test = _blocks()[:2]
    assert "dedup-service serve" in serve and "pytest" in test


def test_ci_runs_the_readme_test_command() -> None:
    test = _blocks()[1]
    ci = (REPO / ".ci" / "run").read_text()
    assert test in ci.splitlines()
    assert "-eq 5" in ci  # pytest's "no tests" is a failure


def test_the_development_commands_are_what_ci_runs() -> None:
    development = _blocks()[-1]
    ci = (REPO / ".ci" / "run").read_text()
    for line in development.splitlines():
        command = line.split("  #")[0].strip()
        if command.startswith(".ci/run"):
            flag = command.removeprefix(".ci/run").strip()
            assert not flag or flag in ci, line
        elif command.startswith("DEDUP_TEST_REDIS_URL="):
            assert "DEDUP_TEST_REDIS_URL" in (REPO / "tests" / "conftest.py").read_text()
        else:
            assert all(part.strip() in ci for part in command.split("&&")), line


def _script(blocks: list[str], port: int) -> tuple[str, list[list[str]]]:
    """The examples as one bash script, a marker printed after each command that has an
    output comment; and the expected "key":value pairs of each such command."""
    out, expected = ["set -e"], []
    for block in blocks:
        lines = block.replace("localhost:8080", f"127.0.0.1:{port}").splitlines()
        for i, line in enumerate(lines):
            if line.startswith("# "):
                if not lines[i - 1].startswith("# "):
                    out.append("printf '\\n@@@\\n'")
                    expected.append([])
                expected[-1] += [f'"{k}":{v}' for k, v in _PAIR.findall(line)]
            else:
                out.append(line)
    return "\n".join(out) + "\n", expected


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("openssl")), reason="needs curl and openssl")
def test_the_tour_webhook_and_cli_examples_run_as_written(tmp_path: Path) -> None:
    """A newcomer's session: `serve` started as the README says (with the webhook secret
    its example uses), then the tour, the webhook delivery and the CLI examples, in order,
    in one shell in the same folder."""
    examples = [b for b in _blocks() if "localhost:8080" in b or "dedup-service ingest" in b]
    assert len(examples) == 3  # tour, webhook, CLI
    secret = re.search(r"^secret=(\S+)", examples[1], re.M)
    assert secret is not None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEDUP_")}
    env |= {"PATH": f"{Path(sys.executable).parent}:{env['PATH']}", "DEDUP_LOG_FORMAT": "text"}
    serve = subprocess.Popen(["dedup-service", "serve", "--port", str(port)], cwd=tmp_path, text=True,
                             env=env | {"DEDUP_WEBHOOK_SECRET": secret.group(1)}, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5).close()
                break
            except OSError:
                assert serve.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        script, expected = _script(examples, port)
        done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)  # fmt: skip
    finally:
        serve.send_signal(signal.SIGINT)
        serve.communicate(timeout=30)
    assert done.returncode == 0, done.stderr
    outputs = done.stdout.split("\n@@@\n")
    assert len(outputs) == len(expected) + 1 and expected
    for want, got in zip(expected, outputs, strict=False):
        at = 0
        for pair in want:  # in the order the comment shows them
            found = got.find(pair, at)
            assert found >= 0, f"output {got!r} lacks {pair} (after {got[:at]!r})"
            at = found + len(pair)
    assert '"id":""' not in done.stdout and "Traceback" not in done.stderr
