"""`make slides`: a reveal.js deck per track, opened in headless Chromium with no network.

Each deck must load reveal.js from the copy beside it (any request that is not a local file fails the
test), and reveal.js must count the slides the track's notebooks make: an agenda plus three per notebook.
"""

from __future__ import annotations

import json

import pytest

from helpers.paths import build_dir
from helpers.processes import CHROMIUM_ARGS, find_chromium
from workbook import slides

WAIT_MS = 60_000


@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    return slides.build_slides(tmp_path_factory.mktemp("slides"))


def test_every_track_has_an_agenda_and_three_slides_per_notebook(decks):
    for track, (deck, count) in decks.items():
        notebooks = slides.track_notebooks(track)
        assert count == 1 + slides.SLIDES_PER_NOTEBOOK * len(notebooks)
        assert deck.read_text().count("<section>") == count
    assert len(slides.track_notebooks("3h")) == 8
    assert decks["full-day"][1] > decks["3h"][1]


def test_a_deck_names_no_remote_resource(decks):
    for deck, _ in decks.values():
        text = deck.read_text()
        assert 'src="http' not in text and 'href="http' not in text.split("<body>")[0]
        assert (deck.parent / "reveal.js" / "reveal.js").is_file()


@pytest.mark.parametrize("track", sorted(slides.TRACKS))
def test_the_deck_opens_in_chromium_with_the_expected_number_of_slides(decks, track):
    chromium = find_chromium()
    if chromium is None:
        pytest.fail("No Chromium: apt-get install chromium (requirements/apt.txt lists it).", pytrace=False)
    from playwright.sync_api import sync_playwright

    deck, count = decks[track]
    remote = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(WAIT_MS)

            def only_local(route):
                if route.request.url.startswith("file://"):
                    route.continue_()
                else:
                    remote.append(route.request.url)
                    route.abort()

            page.route("**/*", only_local)
            page.goto(deck.as_uri())
            page.wait_for_function("() => window.Reveal && Reveal.isReady()")
            assert page.evaluate("Reveal.getTotalSlides()") == count
            too_tall = page.evaluate("""() => Reveal.getSlides().map((s, i) => {
                Reveal.slide(i); return [i, document.querySelector('section.present').scrollHeight];
            }).filter(([i, h]) => h > Reveal.getConfig().height)""")
            assert too_tall == [], f"slides taller than the screen (index, pixels): {too_tall}"
            page.evaluate(f"Reveal.slide({count - 1})")
            page.locator("section.present h2").filter(has_text="Summary").wait_for()
            page.evaluate("Reveal.slide(0)")
            page.screenshot(path=str(build_dir("screenshots") / f"slides_{track}.png"))
        finally:
            browser.close()
    assert remote == [], f"the deck asked the network for {remote}"


def _notebook(path, cells):
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": text} for text in cells],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))
    return path


def test_a_notebook_without_its_goals_is_refused_by_name(tmp_path):
    path = _notebook(tmp_path / "99_x.ipynb", ["# X\n\nIntro.", "## Summary\n- done"])
    with pytest.raises(slides.SlidesError, match=r"99_x.ipynb lacks a \*\*What you will learn\*\* list"):
        slides.notebook_slides(path)


def test_a_notebook_gives_its_title_goals_and_summary(tmp_path):
    path = _notebook(tmp_path / "99_x.ipynb", [
        "# X marks `it`\n\nIntro here.\n\n**What you will learn**\n- a\n- b\n\n**Prerequisites:** none",
        "## Summary\n- done\n\n## Try it yourself\n1. more"])
    title, learn, summary = slides.notebook_slides(path)
    assert (title.heading, learn.heading, summary.heading) == ("X marks it", "What you will learn", "Summary")
    assert "Intro here." in title.body_html and "Prerequisites" not in learn.body_html
    assert learn.body_html.count("<li>") == 2 and "more" not in summary.body_html


def test_an_unknown_track_or_a_missing_reveal_says_the_fix(tmp_path):
    with pytest.raises(slides.SlidesError, match="choose one of"):
        slides.track_notebooks("2h")
    with pytest.raises(slides.SlidesError, match="npm ci --prefix workshop"):
        slides.reveal_dist(tmp_path)
