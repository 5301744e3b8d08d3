"""Does the OpenAPI description say what the API does? ``schemathesis run`` against a served app.

Serves ``planbridge serve`` on a fresh SQLite file or a fresh PostgreSQL database, creates two
workspaces with an admin token each (so the object-level authorization check has two identities)
and runs schemathesis with every check, positive and negative data, and all phases (examples,
coverage, fuzzing, stateful). The failed-authentication throttle is raised for the run: the
run sends wrong tokens on purpose, and would otherwise (correctly) get 429 after ten of them.
schemathesis.toml at the repository's root is the run's configuration: operations that declare
rules beyond their schema may answer 422 to schema-valid data, if the 422 names such a rule.

    python bench/schemathesis_run.py --backend sqlite --max-examples 40
    python bench/schemathesis_run.py --backend postgres --max-examples 40

Prints the schemathesis summary and one line of figures: test cases generated, unique failures,
failures per code, wall time, and CPU seconds of the server and of schemathesis.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ADMIN_URL = os.environ.get(
    "PLANBRIDGE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PLANBRIDGE_DATABASE_URL": database_url,
        "PLANBRIDGE_SECRET_KEY": "bench-secret-key-0123456789abcdef0123",
        "PLANBRIDGE_ALLOW_PRIVATE_TRACKERS": "true",
        "PLANBRIDGE_AUTH_FAILURES_PER_MINUTE": "1000000",
        "PLANBRIDGE_LOG_LEVEL": "WARNING",
    }


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _process_cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process (Linux /proc), e.g. the server before it stops."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _token(environment: dict[str, str], workspace: str) -> str:
    created = subprocess.run(
        ["planbridge", "token", "create", "--workspace", workspace, "--scope", "admin"],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return created.stdout.strip().splitlines()[-1]


def run(backend: str, max_examples: int, seed: int, workers: int, workdir: Path) -> int:
    database = None
    if backend == "sqlite":
        database_url = f"sqlite:///{workdir / 'planbridge.db'}"
    else:
        database = f"pb_schemathesis_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        database_url = POSTGRES_ADMIN_URL.rpartition("/")[0] + f"/{database}"
    environment = _environment(database_url)
    server = None
    try:
        if backend == "postgres":
            subprocess.run(["planbridge", "migrate"], env=environment, check=True)
        tokens = {name: _token(environment, name) for name in ("acme", "globex")}
        port = _free_port()
        server = subprocess.Popen(
            ["planbridge", "serve", "--port", str(port)],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "serve.log").open("w"),
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        # Built once, then cached by the app: on a loaded machine the first build can take longer
        # than schemathesis waits for the schema (10 s).
        httpx.get(f"{base}/openapi.json", timeout=120).raise_for_status()
        auth_file = workdir / "auth.json"
        auth_file.write_text(
            json.dumps(
                {
                    "auth": [
                        {
                            "name": name,
                            "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}],
                        }
                        for name, token in tokens.items()
                    ]
                }
            )
        )
        started = time.monotonic()
        server_cpu_before = _process_cpu_seconds(server.pid)
        st_cpu_before = _children_cpu_seconds()
        result = subprocess.run(
            [
                "st",
                "--config-file",
                str(ROOT / "schemathesis.toml"),
                "run",
                f"{base}/openapi.json",
                "--checks",
                "all",
                "--auth-wfc",
                str(auth_file),
                "--max-examples",
                str(max_examples),
                "--seed",
                str(seed),
                "--workers",
                str(workers),
                "--continue-on-failure",
                "--max-failures",
                "1000",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,  # where the configuration's hooks module is imported from
        )
        elapsed = time.monotonic() - started
        st_cpu = _children_cpu_seconds() - st_cpu_before
        server_cpu = _process_cpu_seconds(server.pid) - server_cpu_before
        output = result.stdout + result.stderr
        summary = output[output.find("SUMMARY") - 40 :] if "SUMMARY" in output else output[-4000:]
        print(summary)
        (workdir / "schemathesis.txt").write_text(output)
        generated = re.search(r"(\d+) generated", output)
        unique = re.search(r"(\d+) unique failures?", output)
        # A custom check's line names it after a colon: "ST901 Custom check failed: `name`: 1".
        codes = dict(re.findall(r"❌ (ST\d+) .+: (\d+)$", output, flags=re.MULTILINE))
        print(
            f"{backend}: {generated.group(1) if generated else '?'} test cases, "
            f"{unique.group(1) if unique else 0} unique failures {codes or ''} "
            f"in {elapsed:.0f} s, CPU {server_cpu:.0f} s server + {st_cpu:.0f} s schemathesis "
            f"(max examples {max_examples}, seed {seed}); "
            f"full output in {workdir / 'schemathesis.txt'}"
        )
        if generated is None:
            print(f"{backend}: the run did not complete (no test cases generated)")
            return 1
        return 0 if unique is None else 1
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if database is not None:
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--max-examples", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    arguments = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pb-schemathesis-"))
    sys.exit(
        run(arguments.backend, arguments.max_examples, arguments.seed, arguments.workers, workdir)
    )


if __name__ == "__main__":
    main()
