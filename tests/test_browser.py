"""The HTML report in a real browser (Debian's headless Chromium driven by Playwright),
with every network request blocked: it loads without console errors, every image has
loaded, the output IDs are present and every table-of-contents link resolves."""
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("CI"):
    raise RuntimeError("CI must run the browser tests: Debian's chromium is not installed")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def page_report(demo_run, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    _, res = demo_run
    html = res / "reports" / "interim-report.html"
    blocked, console_errors, page_errors = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        def route(r):
            if r.request.url.startswith(("file:", "data:", "blob:", "about:")):
                r.continue_()
            else:
                blocked.append(r.request.url)
                r.abort()
        page.route("**/*", route)
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: page_errors.append(str(e)))
        page.goto(html.as_uri(), wait_until="load")
        info = page.evaluate("""() => ({
            text: document.body.innerText,
            images: [...document.images].map(i => ({src: i.src.slice(0, 40), ok: i.complete && i.naturalWidth > 0})),
            tocLinks: [...document.querySelectorAll('nav a[href^="#"], #TOC a[href^="#"]')].map(a => a.getAttribute('href')),
            ids: [...document.querySelectorAll('[id]')].map(e => e.id),
            tables: document.querySelectorAll('table').length,
        })""")
        shot = tmp_path_factory.mktemp("shots") / "interim-report.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    return dict(info=info, blocked=blocked, console=console_errors, errors=page_errors, shot=shot)


def test_no_network_request_and_no_console_error(page_report):
    assert page_report["blocked"] == []
    assert page_report["console"] == [] and page_report["errors"] == []


def test_every_image_loaded(page_report):
    assert all(i["ok"] for i in page_report["info"]["images"]), page_report["info"]["images"]


def test_output_ids_present(page_report, demo_run):
    import re
    _, res = demo_run
    # Every table and figure the interim report (with its sections) includes.
    sources = [ROOT / "reports" / "interim-report.qmd", *sorted((ROOT / "reports" / "_sections").glob("*.qmd"))]
    text_src = "\n".join(p.read_text(encoding="utf-8") for p in sources)
    ids = sorted(set(re.findall(r"_generated/tables/([A-Z0-9-]+)\.md", text_src)))
    ids += sorted(set(re.findall(r"_generated/figures/([A-Z0-9-]+)\.png", text_src)))
    assert len(ids) > 20
    assert all((res / "tables" / f"{i}.md").exists() or (res / "figures" / f"{i}.png").exists() for i in ids)
    text = page_report["info"]["text"]
    missing = [i for i in ids if i not in text]
    assert missing == []
    assert page_report["info"]["tables"] >= len([i for i in ids if re.match(r"[TL]-", i)])


def test_toc_links_resolve(page_report):
    links = page_report["info"]["tocLinks"]
    assert len(links) >= 2
    ids = set(page_report["info"]["ids"])
    assert [h for h in links if h[1:] not in ids] == []
    assert page_report["shot"].stat().st_size > 10_000
