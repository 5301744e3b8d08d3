"""The README's walk-through, pasted into a shell as it is, works against a real planbridge serve
(SQLite in a fresh directory, the embedded worker on, a free loopback port)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.trackers.server import free_port

README = Path(__file__).resolve().parent.parent / "README.md"


def _walk_through_commands(port: int) -> str:
    text = README.read_text()
    section = text.split("## Walk-through with curl", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    return "\n".join(blocks).replace("127.0.0.1:8000", f"127.0.0.1:{port}")


def test_readme_walk_through_runs_as_written(tmp_path: Path) -> None:
    for tool in ("bash", "curl", "python3", "awk"):
        assert shutil.which(tool), f"the walk-through needs {tool} on the PATH"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANBRIDGE_")}
    # The `planbridge` of this interpreter, as `pip install -e .` puts it on the PATH.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    server = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, "planbridge serve exited"
                assert time.monotonic() < deadline, "planbridge serve did not start"
                time.sleep(0.2)
        script = "set -e\n" + _walk_through_commands(port)
        walk = subprocess.run(
            ["bash", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)

    out = walk.stdout
    assert walk.returncode == 0, walk.stdout + walk.stderr
    assert '"code":"due_after_plan_end"' in out
    assert '"status":422' in out and '"estimate_hours"' in out
    assert "MEM-2\tsynced\tin_progress\tRecord the setup video" in out  # pushed, with its key
    assert "MEM-2 is now done in memory://demo" in out
    assert "MEM-2\tsynced\tdone\tRecord the setup video" in out  # read back from the tracker
    assert '"done_count":2' in out
    assert '"health":"on_track"' in out
    assert ": weekly review " in out
    assert '{"items":[],"total":0' in out  # nothing failing or dead
    assert f"http://127.0.0.1:{port}/goals/" in out
    assert (tmp_path / "planbridge.db.memory-tracker" / "demo.sqlite").exists()
