"""The collector settings of a long-running process (app/garbage_collector.py)."""

from __future__ import annotations

import gc

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.garbage_collector import YOUNG_GENERATION_THRESHOLD, tuned_garbage_collector


def test_the_settings_hold_inside_and_are_restored_after_even_on_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), tuned_garbage_collector():
        assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > 0  # what was loaded is out of the collector's passes
        raise RuntimeError("the block fails")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()


def test_a_running_app_has_them_and_a_stopped_one_gives_them_back(app: FastAPI) -> None:
    before = gc.get_threshold()
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_threshold()[0] == YOUNG_GENERATION_THRESHOLD
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
