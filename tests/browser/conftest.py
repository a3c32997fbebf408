"""A real server and a real browser for the page tests.

The application runs under gunicorn, as in production, on a database of its own (a SQLite
file, or a PostgreSQL database on the server of the test settings) that holds the small
sample company. Headless Chromium from Debian (``/usr/bin/chromium``, or BILLGUARD_CHROMIUM)
is driven by Playwright's Python package. Screenshots go to var/test-output/browser/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from tests.billing.harness import (
    REPO,
    ScratchDatabase,
    billguard_env,
    postgres_server,
    process_stop,
    unique_name,
)

SAMPLE_PASSWORD = "billguard-sample"
SERVER_READY_TIMEOUT = 60
SEED_TIMEOUT = 600
SCREENSHOTS = REPO / "var" / "test-output" / "browser"
# Chromium's background services call Google's hosts, which these machines cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class App:
    """The running application: its address, database and log."""

    url: str
    database: ScratchDatabase
    var_dir: Path
    log: Path


def chromium_path() -> str:
    path = os.environ.get("BILLGUARD_CHROMIUM", "/usr/bin/chromium")
    if not Path(path).is_file():
        pytest.fail(
            f"Chromium is not installed at {path}. Install Debian's package (make browser, "
            "which runs apt-get install chromium) or set BILLGUARD_CHROMIUM to its path."
        )
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """gunicorn serving the small sample company on a database of this module's own."""
    folder = tmp_path_factory.mktemp("browser")
    if connection.vendor == "postgresql":
        server = postgres_server(settings.DATABASES["default"])
        name = unique_name("billguard_browser")
        server.create(name)
        database = ScratchDatabase(
            url=server.url(name), vendor="postgresql", server=server, name=name
        )
    else:
        path = folder / "browser.sqlite3"
        database = ScratchDatabase(url=f"sqlite:///{path}", vendor="sqlite", path=path)
    var_dir = folder / "var"
    log = folder / "gunicorn.log"
    process = None
    try:
        _seed_sample(database, var_dir)
        port = _free_port()
        env = billguard_env(database, var_dir)
        with log.open("ab") as output:
            process = subprocess.Popen(  # noqa: S603  (the test's own arguments)
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "2",
                    "--timeout",
                    "120",
                    "billguard.wsgi:application",
                ],
                cwd=REPO,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{port}"
        _wait_until_serving(url, process, log)
        yield App(url=url, database=database, var_dir=var_dir, log=log)
    finally:
        if process is not None:
            process_stop(process)
        database.drop()


def _seed_sample(database: ScratchDatabase, var_dir: Path) -> None:
    """Migrate the database and write the small sample company into it."""
    completed = subprocess.run(
        [sys.executable, "-m", "tests.billing.seed", "sample"],
        cwd=REPO,
        env=billguard_env(database, var_dir),
        capture_output=True,
        text=True,
        timeout=SEED_TIMEOUT,
        check=False,
    )
    assert completed.returncode == 0, f"seeding the sample company failed:\n{completed.stderr}"


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{url}/sign-in/", timeout=10).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer within {SERVER_READY_TIMEOUT} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium, for this module only.

    Playwright's synchronous API runs an event loop in the test thread; it is stopped at the
    end of the module, so that later database tests do not run inside it.
    """
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[object, str], Path]:
    """Save a full-page screenshot under var/test-output/browser/<database>/<test>/."""
    folder = SCREENSHOTS / connection.vendor / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    taken = iter(range(1, 1000))

    def take(page: object, name: str) -> Path:
        path = folder / f"{next(taken):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path

    return take
