"""The wheel, installed into a fresh venv outside the repository, runs the product's commands.

The fresh venv sees the already-installed dependencies through a ``.pth`` holding the plain
path of this environment's site-packages: a plain path line does not run the editable
install's finder, so ``voicebot`` can only come from the wheel (asserted, not assumed).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@dataclass(frozen=True)
class Installed:
    venv: Path
    workdir: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / "voicebot"), *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=240,
        )


def _build_wheel(tmp: Path) -> Path:
    """Build from a copy of the sources so the checkout gets no build/ or egg-info."""
    src = tmp / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for package in ("voicebot", "api"):
        shutil.copytree(ROOT / package, src / package, ignore=ignore)
    dist = tmp / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    (wheel,) = dist.glob("*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    tmp = tmp_path_factory.mktemp("packaging")
    wheel = _build_wheel(tmp)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    fresh_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(fresh_site) / "project_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    workdir = tmp / "elsewhere"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICEBOT_", "PYTHON"))}
    env.pop("VOSK_MODEL_PATH", None)
    yield Installed(venv, workdir, env)


def test_voicebot_is_imported_from_the_fresh_venv(installed: Installed) -> None:
    where = subprocess.run(
        [
            str(installed.venv / "bin" / "python"),
            "-c",
            "import voicebot, api; print(voicebot.__file__, api.__file__)",
        ],
        cwd=installed.workdir,
        env=installed.env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for path in where:
        assert Path(path).is_relative_to(installed.venv), where
    tests_helpers = subprocess.run(
        [str(installed.venv / "bin" / "python"), "-c", "import testbeds"],
        cwd=installed.workdir,
        env=installed.env,
        capture_output=True,
    )
    assert tests_helpers.returncode != 0  # the test beds are not shipped


def test_dialplan_check_finds_the_shipped_dialplan(installed: Installed) -> None:
    result = installed.run("dialplan", "check")
    assert result.returncode == 0, result.stderr
    checked = Path(result.stdout.split(": ok")[0])
    assert checked.is_relative_to(installed.venv) and checked.name == "cobranza_es.yaml"
    assert "states" in result.stdout


def test_simulate_a_scripted_call_from_outside_the_repository(installed: Installed) -> None:
    debtor = installed.workdir / "debtor.json"
    script = installed.workdir / "promise.turns"
    shutil.copy(EXAMPLES / "debtor.json", debtor)
    shutil.copy(EXAMPLES / "promise.turns", script)
    result = installed.run("simulate", "--debtor", debtor.name, "--script", script.name, "--quiet")
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["disposition"] == "PTP" and outcome["promise"]["instalments"] == 6


def test_db_upgrade_and_demo_write_under_the_working_directory(installed: Installed) -> None:
    upgraded = installed.run("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert (installed.workdir / "var" / "voicebot.sqlite3").is_file()
    demo = installed.run("demo", "--debtors", "5", "--json", "--today", "2026-11-24")
    assert demo.returncode == 0, demo.stderr
    report = json.loads(demo.stdout[demo.stdout.index("{") :])
    assert report["mode"] == "text"
    kpis = [c["kpis"] for c in report["campaigns"]]
    assert sum(k["debtors_in_campaign"] for k in kpis) == 5
    assert sum(k["attempts"] for k in kpis) >= 5  # every synthetic debtor was dialled
    assert (installed.workdir / "var" / "demo.sqlite3").is_file()


def test_a_misspelt_setting_is_refused_in_one_line(installed: Installed) -> None:
    env = {**installed.env, "VOICEBOT_SIP_SERVER": "pbx.example"}
    result = subprocess.run(
        [str(installed.venv / "bin" / "voicebot"), "dialplan", "check"],
        cwd=installed.workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: unknown setting(s) in the environment or .env: VOICEBOT_SIP_SERVER "
        "(did you mean VOICEBOT_SIP__SERVER?); nested settings use a double underscore, "
        "e.g. VOICEBOT_SIP__SERVER"
    ]
