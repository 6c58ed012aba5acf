"""Docker cannot run here, so run the Dockerfile's install steps in a fresh venv instead."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import ROOT, config_data, free_port, wait_http, write_toml


def _instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def test_dockerfile_is_slim_non_root_with_volume_health_and_serve() -> None:
    ins = _instructions()
    words = dict(ins)
    assert words["FROM"].startswith("python:3.11-slim")
    assert words["USER"] == "webrix"
    assert words["VOLUME"] == "/data"
    assert words["EXPOSE"] == "8080"
    assert "WEBRIX_CONFIG=/etc/webrix/config.toml" in words["ENV"]
    assert "/healthz" in words["HEALTHCHECK"]
    assert json.loads(words["CMD"])[:2] == ["webrix", "serve"]
    # USER comes after the last RUN: nothing runs as root at run time.
    last_run = max(i for i, (w, _) in enumerate(ins) if w == "RUN")
    assert [w for w, _ in ins].index("USER") > last_run


def test_dockerfile_install_steps_in_a_fresh_venv(tmp_path: Path) -> None:
    ins = _instructions()
    work = tmp_path / "opt-webrix"
    work.mkdir()
    for word, rest in ins:
        if word == "COPY":
            *sources, dest = rest.split()
            for src in sources:
                target = (
                    work / dest
                    if dest.endswith("/") and dest != "./"
                    else work / (dest if dest not in (".", "./") else Path(src).name)
                )
                if (ROOT / src).is_dir():
                    shutil.copytree(
                        ROOT / src, target, ignore=shutil.ignore_patterns("__pycache__")
                    )
                else:
                    shutil.copy(ROOT / src, target)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip_steps = [rest for word, rest in ins if word == "RUN" and rest.startswith("pip install")]
    assert pip_steps, "the Dockerfile installs the package with pip"
    for step in pip_steps:
        args = shlex.split(step)
        result = subprocess.run(
            [str(venv / "bin" / "python"), "-m", *args],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]

    # The installed (non-editable) package carries its migrations and templates and serves.
    cfg = write_toml(tmp_path / "config.toml", config_data(tmp_path / "data" / "w.db"))
    port = free_port()
    proc = subprocess.Popen(
        [
            str(venv / "bin" / "webrix"),
            "--config",
            str(cfg),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
        assert "Request id" in httpx.get(f"http://127.0.0.1:{port}/missing").text
        health = dict(ins)["HEALTHCHECK"].split(" CMD ", 1)[1].replace("8080", str(port))
        check = subprocess.run(
            [str(venv / "bin" / "python"), *shlex.split(health)[1:]],
            capture_output=True,
            check=False,
        )
        assert check.returncode == 0, check.stderr
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
