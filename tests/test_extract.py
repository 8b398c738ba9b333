"""HTML extraction rules on top of trafilatura: navigation links and the headline stay out."""

from dedup_service.extract import body_text, extract_html

PARAS = [
    "The central bank raised its main lending rate by half a point to 7.5 pct on Tuesday, citing inflation.",
    "Economists had expected the move after consumer prices rose 4.1 pct in the year to March, the fastest pace.",
    "The bank said it would watch wage settlements closely and act again if price pressures persisted.",
    "Markets took the decision calmly, with the currency little changed against the dollar in late trading.",
]


def test_a_line_that_is_mostly_link_text_is_navigation() -> None:
    marked = "\n".join([
        PARAS[0],
        "READ MORE: [Floods cut rail links across the north](/r/1)",
        "The [central bank](/cb) said it would act again if needed, a spokesman told reporters.",
        "[Markets](/m) [Business](/b)",
    ])  # fmt: skip
    assert body_text(marked, None).splitlines() == [
        PARAS[0],
        "The central bank said it would act again if needed, a spokesman told reporters.",
    ]


def test_the_headline_is_not_body() -> None:
    assert body_text("Bank Raises Rates\n" + PARAS[0], "Bank  raises rates") == PARAS[0]
    assert body_text(PARAS[0] + "\nBank Raises Rates", "Bank raises rates").endswith("Bank Raises Rates")


def test_an_aggregator_page_gives_the_story_alone() -> None:
    body = ""
    for i, p in enumerate(PARAS):
        body += f"<p>{p}</p>"
        if i % 2 == 1:
            body += (
                f'<div class="ad">Advertisement</div><p><b>READ MORE:</b> <a href="/r/{i}">Other story {i} here</a></p>'
            )
    page = (
        "<html><head><title>Bank raises rates</title></head><body><div class='crumbs'><a href='/'>Hub</a></div>"
        f"<div class='main'><h1>Bank raises rates</h1>{body}</div>"
        "<div class='side'><h3>Trending now</h3><ol><li>Cats win election</li></ol></div></body></html>"
    )
    ex = extract_html(page)
    assert ex.text.splitlines() == PARAS and ex.title == "Bank raises rates"
