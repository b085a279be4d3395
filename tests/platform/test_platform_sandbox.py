"""The sandbox's modes, without a server: what each setting chooses on a host with and without
bubblewrap, and the environment user code gets in each."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from headwater.errors import ConfigError
from headwater.platform import sandbox as sandbox_module
from headwater.platform.sandbox import Jail, Sandbox, SandboxMode

PRINT_ENV = "import json, os; print(json.dumps(dict(os.environ)))"


@pytest.fixture
def no_bwrap(monkeypatch: pytest.MonkeyPatch) -> None:
    """A host without bubblewrap."""
    monkeypatch.setattr(sandbox_module.shutil, "which", lambda name: None)


def test_an_unknown_setting_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="auto, bubblewrap, none"):
        Sandbox.detect("docker")


def test_without_bubblewrap_auto_warns_and_bubblewrap_refuses(
    no_bwrap: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="headwater.platform.sandbox"):
        assert Sandbox.detect("auto").mode is SandboxMode.none
    assert "WITHOUT a sandbox" in caplog.text and "apt-get install bubblewrap" in caplog.text
    with pytest.raises(ConfigError, match="HEADWATER_SANDBOX=none"):
        Sandbox.detect("bubblewrap")


def test_user_code_gets_an_allow_listed_environment_in_every_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADWATER_ADMIN_PASSWORD", "not-for-apps")
    monkeypatch.setenv("HEADWATER_SECRET_KEY", "not-for-apps")
    monkeypatch.setenv("TZ", "UTC")
    modes = [Sandbox.detect("none")]
    if Sandbox.detect("auto").mode is SandboxMode.bubblewrap:
        modes.append(Sandbox.detect("bubblewrap"))
    for sandbox in modes:
        jail = Jail(tmp_path)
        command = sandbox.command([sys.executable, "-c", PRINT_ENV], jail)
        if sandbox.mode is SandboxMode.none:
            assert command[0] == sys.executable  # a plain child process
        env = sandbox.environment({"APP_SETTING": "1"}, jail)
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        seen = set(json.loads(done.stdout))
        assert {"APP_SETTING", "TZ", "HOME", "PATH"} <= seen, sandbox.mode
        assert not seen & {"HEADWATER_ADMIN_PASSWORD", "HEADWATER_SECRET_KEY", "VIRTUAL_ENV"}


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_an_environment_under_tmp_stays_visible_in_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A checkout (and its .venv) cloned under /tmp: the sandbox's private /tmp must not hide it.
    env = tmp_path / "env"
    env.mkdir()
    (env / "marker.txt").write_text("here")
    paths = sandbox_module._python_paths()
    monkeypatch.setattr(sandbox_module, "_python_paths", lambda: [*paths, env])
    sandbox = Sandbox.detect("bubblewrap")
    jail = Jail(tmp_path / "work")
    jail.workdir.mkdir()
    run = subprocess.run(
        sandbox.command(["cat", str(env / "marker.txt")], jail),
        env=sandbox.environment({}, jail),
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert run.stdout == b"here", run.stderr
