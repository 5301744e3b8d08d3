"""What the pages are built from for a newcomer to read them: dates, buttons, the 404 page."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.dashboard.rendering import date_element, dates_unbroken


def test_a_date_is_one_time_element_that_the_stylesheet_keeps_on_one_line() -> None:
    assert date_element(date(2027, 1, 10)) == '<time datetime="2027-01-10">2027-01-10</time>'
    assert date_element(datetime(2027, 1, 10, 9, 30, tzinfo=UTC)) == (
        '<time datetime="2027-01-10T09:30:00+00:00">2027-01-10 09:30 UTC</time>'
    )
    assert date_element(None) == "-"


def test_dates_inside_a_sentence_become_time_elements_and_the_rest_stays_escaped() -> None:
    text = "At the recent pace <the work> finishes on 2027-02-06, after 2027-01-14."
    assert dates_unbroken(text) == (
        "At the recent pace &lt;the work&gt; finishes on "
        '<time datetime="2027-02-06">2027-02-06</time>, after '
        '<time datetime="2027-01-14">2027-01-14</time>.'
    )
