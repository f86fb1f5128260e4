"""The playground page's files: served from the package, complete, and nothing from elsewhere."""

import re
from importlib import resources

from starlette.testclient import TestClient

from rnnkit.serve.app import build_app
from rnnkit.serve.page import STATIC, playground_routes


def test_every_page_file_is_served_with_its_type_and_nothing_else(predictors):
    with TestClient(build_app([predictors["lm"]], routes=playground_routes())) as client:
        page = client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<script type="module" src="/static/app.js">' in page.text
        for name, media in STATIC.items():
            response = client.get(f"/static/{name}")
            assert response.status_code == 200 and response.headers["content-type"] == media
        for bad in ("../page.py", "nothing.js", "%2e%2e%2fpage.py"):
            assert client.get(f"/static/{bad}").status_code == 404


def test_the_files_reference_only_each_other():
    folder = resources.files("rnnkit.serve").joinpath("static")
    shipped = {p.name for p in folder.iterdir()}
    assert shipped == set(STATIC)
    for name in STATIC:
        text = folder.joinpath(name).read_text(encoding="utf-8")
        assert not re.search(r"\b(https?:)?//[\w.-]+\.\w+/", text), f"{name} loads from elsewhere"
        for imported in re.findall(r'from "\./([\w.]+)"', text):
            assert imported in STATIC, f"{name} imports {imported}, which is not served"
    page = folder.joinpath("index.html").read_text(encoding="utf-8")
    assert set(re.findall(r'/static/([\w.]+)"', page)) == {"style.css", "app.js"}
