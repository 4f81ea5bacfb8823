"""Servers and a real browser for the end-to-end tests.

* Chromium is Debian's ``/usr/bin/chromium`` driven by the Python ``playwright`` package
  (never ``playwright install``). Missing Chromium or playwright fails the tests when ``CI``
  is set and skips them, with the reason, elsewhere.
* JupyterLab (which also serves Notebook 7 when ``notebook`` is installed) and Voila run
  on 127.0.0.1 with ``IPYINFLUENCE_MODEL=tiny`` (fast runs; set
  ``IPYINFLUENCE_BROWSER_MODEL=default`` to use the real default model instead), over a
  temporary copy of ``notebooks/`` so that autosave never touches the repository, with
  temporary Jupyter config/settings/runtime dirs so a developer's own settings do not leak
  in. Each server is stopped by its PID at teardown, and so are the kernels it started.
* Only 127.0.0.1 is reachable from the browser: ``--host-resolver-rules`` makes every
  other host fail to resolve, and requests that try are logged to ``tests/artifacts``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
from pathlib import Path

import pytest
from browser_setup import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, REPO, VIEWPORT, free_port, require, start_server


# -- environment ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def server_root(tmp_path_factory) -> Path:
    """A temporary copy of notebooks/, the servers' root (autosave must not touch the repo)."""
    root = tmp_path_factory.mktemp("jupyter-root")
    shutil.copytree(REPO / "notebooks", root / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return root


@pytest.fixture(scope="session")
def server_env(tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("jupyter-home")
    settings = home / "lab-settings"
    notification = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    # No news fetch, no update check, no toasts over the notebook.
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True}))
    env = dict(os.environ)
    env.update({
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p),
        "PATH": os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", ""))),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "MPLBACKEND": "Agg",
        # One intra-op thread per kernel: the server, Chromium and the kernel share the cores,
        # and spinning OpenMP threads on busy cores make torch many times slower.
        "OMP_NUM_THREADS": env.get("OMP_NUM_THREADS", "1"),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "IPYTHONDIR": str(home / "ipython"),
    })
    model = os.environ.get("IPYINFLUENCE_BROWSER_MODEL", "tiny")
    if model == "default":
        env.pop("IPYINFLUENCE_MODEL", None)
    else:
        env["IPYINFLUENCE_MODEL"] = model
    return env


# -- servers -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def lab_server(server_root, server_env):
    """JupyterLab on 127.0.0.1 (also serves Notebook 7 at /notebooks/... when installed)."""
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
        f"--ServerApp.token={token}", "--LabApp.expose_app_in_browser=True",
        "--JupyterNotebookApp.expose_app_in_browser=True", f"--ServerApp.root_dir={server_root}",
        "--ServerApp.port_retries=0", "--ServerApp.terminals_enabled=False",
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    url = f"http://127.0.0.1:{port}"
    server = start_server("jupyterlab", cmd, server_root, server_env, f"{url}/api/status?token={token}", url, token)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def voila_server(server_root, server_env):
    port = free_port()
    cmd = [sys.executable, "-m", "voila", "notebooks/quickstart.ipynb", "--no-browser", f"--port={port}",
           "--Voila.ip=127.0.0.1", "--show_tracebacks=True", "--Voila.port_retries=0"]
    url = f"http://127.0.0.1:{port}"
    # Voila runs the notebook when the page is requested, so readiness is a static file.
    server = start_server("voila", cmd, server_root, server_env, f"{url}/voila/static/voila.js", url, "")
    yield server
    server.stop()


# -- browser -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def blocked_log() -> Path:
    """Where requests to hosts other than 127.0.0.1 are listed (fresh for each session)."""
    path = ARTIFACTS / "blocked-outside-requests.txt"
    path.unlink(missing_ok=True)
    return path


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory, blocked_log):
    require(Path(CHROMIUM).exists(), f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "the playwright Python package is not installed (pip install playwright)")
    user_data = tmp_path_factory.mktemp("chromium-profile")
    pw = sync_playwright().start()
    try:
        context = pw.chromium.launch_persistent_context(
            str(user_data), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, viewport=VIEWPORT)
    except Exception:
        pw.stop()
        raise
    outside: list[str] = []

    def note_outside(request):
        host = request.url.split("/")[2] if "://" in request.url else ""
        if request.url.startswith(("http://", "https://", "ws://", "wss://")) and not host.startswith("127.0.0.1"):
            outside.append(request.url)

    context.on("request", note_outside)
    context.set_default_timeout(60_000)
    yield context
    if outside:  # e.g. Voila's template links FontAwesome on a CDN; it fails to resolve, harmlessly
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with blocked_log.open("a") as log:
            log.write("\n".join(outside) + "\n")
    context.close()
    pw.stop()


@pytest.fixture
def page(browser_context, request):
    """A fresh tab; on failure its screenshot and console log go to tests/artifacts/."""
    page = browser_context.new_page()
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"[{msg.type}] {msg.text}"))
    page.on("pageerror", lambda err: console.append(f"[pageerror] {err}"))
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    (ARTIFACTS / f"{name}.console.txt").write_text("\n".join(console) + "\n")
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed:
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}.failure.png"), full_page=True)
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass
    page.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
