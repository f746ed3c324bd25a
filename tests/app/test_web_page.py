"""Serving the web client: the page at "/", its modules under /static (no browser needed)."""

from __future__ import annotations

import re

from app.main import WEB_DIR
from tests.support import Api

IMPORT = re.compile(r'^import .* from "\./([a-z]+\.js)";$', re.MULTILINE)


async def test_the_page_is_served_with_the_environment_it_runs_in(api: Api) -> None:
    r = await api.http.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    # Only a development server offers the demo login; the tests' server is `test`.
    assert '<html lang="en" data-env="test">' in r.text
    assert "{{" not in r.text


async def test_every_module_the_page_loads_is_served(api: Api) -> None:
    r = await api.http.get("/")
    entry = re.search(r'<script type="module" src="/static/(js/app\.js)">', r.text)
    assert entry, "the page loads its entry module"
    seen: set[str] = set()
    todo = ["app.js"]
    while todo:
        name = todo.pop()
        seen.add(name)
        module = await api.http.get(f"/static/js/{name}")
        assert module.status_code == 200, name
        assert "javascript" in module.headers["content-type"], name
        todo += [m for m in IMPORT.findall(module.text) if m not in seen]
    assert seen == {p.name for p in (WEB_DIR / "js").glob("*.js")}, "no module is orphaned"
    css = await api.http.get("/static/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


async def test_unknown_paths_stay_api_errors_not_the_page(api: Api) -> None:
    r = await api.http.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
