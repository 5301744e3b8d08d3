"""The burn-up drawn against the plan: a nice hours axis, weekly dates, today, ideal, forecast."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest

from app.dashboard.charts import (
    PLOT_BOTTOM,
    PLOT_TOP,
    X_UNITS,
    BurnupPoint,
    label_stride,
    nice_axis,
    render_burnup_svg,
)

SVG = "{http://www.w3.org/2000/svg}"
START = date(2027, 1, 4)
END = date(2027, 4, 5)  # 13 weeks
NOW = datetime(2027, 2, 15, tzinfo=UTC)


def chart(points: list[BurnupPoint], forecast: date | None = None, end: date = END) -> ET.Element:
    svg = render_burnup_svg(points, title="Burn-up", start=START, end=end, forecast=forecast)
    return ET.fromstring(svg)


def history(scope: float = 41.0, done: float = 11.0) -> list[BurnupPoint]:
    return [
        BurnupPoint(datetime(2027, 1, 5, tzinfo=UTC), scope_hours=20.0, done_hours=0.0),
        BurnupPoint(datetime(2027, 1, 20, tzinfo=UTC), scope_hours=scope, done_hours=done),
        BurnupPoint(NOW, scope_hours=scope, done_hours=done),
    ]


def plot_x(moment: datetime, start: datetime, end: datetime) -> float:
    return X_UNITS * (moment - start) / (end - start)


def plot_y(hours: float, top: float) -> float:
    return PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * hours / top


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@pytest.mark.parametrize(
    ("scope", "top", "step"),
    [(41, 50, 10), (26, 30, 10), (45, 50, 10), (80, 80, 20), (101, 150, 50), (0, 1, 0.2)],
)
def test_hours_axis_tops_out_at_a_nice_number_just_above_the_scope(
    scope: float, top: float, step: float
) -> None:
    assert nice_axis(scope) == pytest.approx((top, step))


def test_hours_axis_of_41_hours_is_labelled_up_to_50_not_80() -> None:
    labels = [text.text for text in chart(history()).iter(f"{SVG}text") if "h" in (text.text or "")]
    assert labels == ["0 h", "10 h", "20 h", "30 h", "40 h", "50 h"]


def test_ideal_line_runs_from_nothing_at_the_start_to_the_scope_at_the_end() -> None:
    lines = {line.get("class"): line for line in chart(history()).iter(f"{SVG}line")}
    start, end = midnight(START), midnight(END)
    assert float(lines["ideal"].get("x1", "")) == pytest.approx(plot_x(start, start, end), abs=0.1)
    assert float(lines["ideal"].get("y1", "")) == pytest.approx(plot_y(0, 50), abs=0.1)
    assert float(lines["ideal"].get("x2", "")) == pytest.approx(X_UNITS, abs=0.1)
    assert float(lines["ideal"].get("y2", "")) == pytest.approx(plot_y(41, 50), abs=0.1)


def test_today_line_stands_at_today_and_the_target_line_at_the_end() -> None:
    lines = {line.get("class"): line for line in chart(history()).iter(f"{SVG}line")}
    share = (NOW - midnight(START)) / (midnight(END) - midnight(START))
    assert lines["today"].get("x1") == f"{100 * share:.2f}%"
    assert lines["target"].get("x1") == "100.00%"
    markers = [
        text.text
        for text in chart(history()).iter(f"{SVG}text")
        if "marker" in text.get("class", "")
    ]
    assert markers == ["today", "target"]


def test_forecast_line_runs_from_todays_done_hours_to_the_scope_at_the_forecast_date() -> None:
    forecast = date(2027, 3, 22)
    lines = {line.get("class"): line for line in chart(history(), forecast).iter(f"{SVG}line")}
    start, end = midnight(START), midnight(END)
    line = lines["forecast"]
    assert float(line.get("x1", "")) == pytest.approx(plot_x(NOW, start, end), abs=0.1)
    assert float(line.get("y1", "")) == pytest.approx(plot_y(11, 50), abs=0.1)
    assert float(line.get("x2", "")) == pytest.approx(
        plot_x(midnight(forecast), start, end), abs=0.1
    )
    assert float(line.get("y2", "")) == pytest.approx(plot_y(41, 50), abs=0.1)


def test_a_forecast_past_the_end_stretches_the_dates_to_show_it() -> None:
    forecast = END + timedelta(days=14)
    svg = chart(history(), forecast)
    lines = {line.get("class"): line for line in svg.iter(f"{SVG}line")}
    assert float(lines["forecast"].get("x2", "")) == pytest.approx(X_UNITS, abs=0.1)
    assert float(lines["forecast"].get("y2", "")) == pytest.approx(plot_y(41, 50), abs=0.1)
    assert float(lines["target"].get("x1", "").rstrip("%")) < 100


def test_a_forecast_far_past_the_end_is_cut_where_the_dates_stop() -> None:
    forecast = END + timedelta(days=400)
    lines = {line.get("class"): line for line in chart(history(), forecast).iter(f"{SVG}line")}
    # The axis runs half the plan's length past its end (13 weeks: 6.5 weeks more), no further.
    assert lines["target"].get("x1") == f"{100 / 1.5:.2f}%"
    assert float(lines["forecast"].get("x2", "")) == pytest.approx(X_UNITS, abs=0.1)
    assert plot_y(41, 50) < float(lines["forecast"].get("y2", "")) < plot_y(11, 50)


def test_no_forecast_line_without_a_forecast_or_when_everything_is_done() -> None:
    assert "forecast" not in {line.get("class") for line in chart(history()).iter(f"{SVG}line")}
    finished = chart(history(done=41.0), forecast=date(2027, 2, 1))
    assert "forecast" not in {line.get("class") for line in finished.iter(f"{SVG}line")}


def test_every_week_has_a_tick_and_labels_thin_out_for_narrower_windows() -> None:
    svg = chart(history())
    ticks = [line for line in svg.iter(f"{SVG}line") if line.get("class") == "tick"]
    weeks = [text for text in svg.iter(f"{SVG}text") if "week" in text.get("class", "")]
    assert len(ticks) == len(weeks) == 14  # 4 Jan to 5 Apr
    assert [week.text for week in weeks[:3]] == ["4 Jan", "11 Jan", "18 Jan"]
    middle = [week.text for week in weeks if "hide-middle" not in week.get("class", "")]
    narrow = [week.text for week in weeks if "hide-narrow" not in week.get("class", "")]
    assert middle == [week.text for week in weeks[::2]]
    assert narrow == ["4 Jan", "1 Feb", "1 Mar", "29 Mar"]


@pytest.mark.parametrize(
    ("weeks", "most", "stride"), [(13, 16, 1), (13, 9, 2), (14, 4, 4), (60, 4, 16)]
)
def test_label_stride_labels_every_week_or_every_other_week_as_room_allows(
    weeks: int, most: int, stride: int
) -> None:
    assert label_stride(weeks, most) == stride
