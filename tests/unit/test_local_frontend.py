"""The local stack's web console server: web/dist with the console's routes falling back to its page, the
upload page under /upload/, and /config.json naming the stack's API; and where FRONTEND_URL puts it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from vre_app.local.environment import LocalEnvironmentError, LocalPorts, frontend_port, stack_environment
from vre_app.local.frontend import LocalFrontend, resolve


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "upload").mkdir()
    (tmp_path / "index.html").write_text("<title>console</title>")
    (tmp_path / "upload" / "index.html").write_text("<title>upload</title>")
    (tmp_path / "assets" / "console-abc.js").write_text("console.log(1)")
    return tmp_path


@pytest.fixture
def served(dist: Path) -> Iterator[LocalFrontend]:
    with LocalFrontend(
        "127.0.0.1", 0, api_base_url="http://127.0.0.1:8123", upload_base_url="http://127.0.0.1:3123/upload/", dist=dist
    ) as frontend:
        yield frontend


def test_console_routes_fall_back_to_its_page_and_upload_routes_to_the_upload_page(dist: Path) -> None:
    assert resolve(dist, "/") == (dist / "index.html", False)
    assert resolve(dist, "/studies/s-1/workspaces/new") == (dist / "index.html", False)
    assert resolve(dist, "/invitations/accept") == (dist / "index.html", False)
    assert resolve(dist, "/upload/") == (dist / "upload" / "index.html", False)
    assert resolve(dist, "/upload/AbC-123_x") == (dist / "upload" / "index.html", False)
    assert resolve(dist, "/assets/console-abc.js") == (dist / "assets" / "console-abc.js", True)


def test_missing_files_and_escapes_are_not_found(dist: Path) -> None:
    assert resolve(dist, "/assets/gone-123.js") is None
    assert resolve(dist, "/../secret") is None
    assert resolve(dist, "/%2e%2e/secret") is None
    assert resolve(dist, "/a\\b") is None


def test_it_serves_pages_assets_and_the_stacks_config(served: LocalFrontend) -> None:
    page = requests.get(f"{served.url}/studies/123", timeout=5)
    assert page.status_code == 200
    assert "console" in page.text
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Cache-Control"] == "no-store"

    asset = requests.get(f"{served.url}/assets/console-abc.js", timeout=5)
    assert asset.headers["Cache-Control"].endswith("immutable")

    assert "upload" in requests.get(f"{served.url}/upload/CODE", timeout=5).text
    assert requests.get(f"{served.url}/nope.png", timeout=5).status_code == 404

    config = requests.get(f"{served.url}/config.json?x=1", timeout=5)
    assert config.json() == {
        "api_base_url": "http://127.0.0.1:8123",
        "upload_base_url": "http://127.0.0.1:3123/upload/",
    }


def test_an_unbuilt_console_says_how_to_build_it(tmp_path: Path) -> None:
    with LocalFrontend("127.0.0.1", 0, api_base_url="http://127.0.0.1:1", upload_base_url=None, dist=tmp_path) as f:
        answer = requests.get(f"{f.url}/", timeout=5)
        config = requests.get(f"{f.url}/config.json", timeout=5)

    assert answer.status_code == 503
    assert "make run" in answer.text
    assert json.loads(config.text) == {"api_base_url": "http://127.0.0.1:1"}


def test_stop_frees_the_port(dist: Path) -> None:
    frontend = LocalFrontend("127.0.0.1", 0, api_base_url="http://127.0.0.1:1", upload_base_url=None, dist=dist)
    frontend.start()
    frontend.stop()
    frontend.stop()

    with pytest.raises(requests.ConnectionError):
        requests.get(frontend.url, timeout=2)


def test_the_port_comes_from_frontend_url_on_this_machine_only() -> None:
    assert frontend_port({"FRONTEND_URL": "http://127.0.0.1:3000"}) == 3000
    assert frontend_port({"FRONTEND_URL": "http://localhost:4173/"}) == 4173
    assert frontend_port({"FRONTEND_URL": "https://console.example.org"}) is None
    assert frontend_port({}) is None
    with pytest.raises(LocalEnvironmentError, match="FRONTEND_URL"):
        frontend_port({"FRONTEND_URL": "http://127.0.0.1:99999"})


def test_the_upload_page_moves_with_a_callers_frontend_url() -> None:
    stage = stack_environment({}, LocalPorts())
    assert stage["UPLOAD_BASE_URL"] == stage["FRONTEND_URL"] + "/upload/"

    moved = stack_environment({"FRONTEND_URL": "http://127.0.0.1:3999"}, LocalPorts())
    assert moved["UPLOAD_BASE_URL"] == "http://127.0.0.1:3999/upload/"
    assert set(moved["VRE_CALLER_SETTINGS"].split(",")) == {"FRONTEND_URL", "UPLOAD_BASE_URL"}

    chosen = stack_environment(
        {"FRONTEND_URL": "http://127.0.0.1:3999", "UPLOAD_BASE_URL": "https://tus.example/u/"}, LocalPorts()
    )
    assert chosen["UPLOAD_BASE_URL"] == "https://tus.example/u/"
