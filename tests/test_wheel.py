"""The built wheel, installed in a fresh venv, gives a working `relive demo` (static files too).

Quick on purpose: the wheel is built without build isolation (setuptools from the dev venv), the
fresh venv has no pip and gets relive alone (`--no-deps`); its dependencies come from the dev
venv's site-packages through a .pth line (.pth files there are not run, so the dev venv's
editable relive stays out of sight). It runs from an empty directory, never the checkout.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import urllib.request
import venv
import zipfile
from pathlib import Path

from tests.web.run_demo import demo

ROOT = Path(__file__).resolve().parents[1]
STATIC = ["index.html", "style.css", "app.js", "transcript.js", "toasts.js", "player.js"]


def _run(*argv: str | Path, cwd: Path) -> None:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_wheel_installs_and_serves_the_demo(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "-w", dist, ROOT, cwd=tmp_path)  # fmt: skip
    (wheel,) = dist.glob("relive-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in [*STATIC, "capture-worklet.js"]:
        assert f"relive/web/static/{name}" in names
    assert not any(n.startswith("tests/") for n in names)

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True
        ).strip()
    )
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
         "--quiet", wheel, cwd=tmp_path)  # fmt: skip
    (site / "dev-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    where = subprocess.check_output(
        [python, "-c", "import relive; print(relive.__file__)"], cwd=tmp_path, text=True
    )
    assert where.startswith(str(site)), where  # the wheel's relive, not the checkout's

    with demo(command=[env_dir / "bin" / "relive"], cwd=tmp_path) as (url, _):
        for name in STATIC:
            with urllib.request.urlopen(f"{url}/static/{name}", timeout=10) as response:
                assert response.status == 200 and response.read()
        with urllib.request.urlopen(f"{url}/", timeout=10) as response:
            assert b"Try to break it" in response.read()
