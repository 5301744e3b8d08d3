"""Every connector sends through the outbound guard (connectors/outbound.py), whatever client
library it uses: with the production policy the emulator's loopback address is refused before any
connection is made, and with private trackers allowed it is reached.
"""

from __future__ import annotations

import pytest

from connectors.addresses import AddressPolicy
from connectors.outbound import AddressRefused
from tests.contract.harness import TrackerHarness, skip_if_lacking


def test_connector_refuses_a_loopback_tracker_under_the_production_policy(
    harness: TrackerHarness,
) -> None:
    skip_if_lacking(harness, "outbound_http")
    connector = harness.connector(address_policy=AddressPolicy())
    try:
        with pytest.raises(AddressRefused, match=r"127\.0\.0\.1"):
            connector.check()
    finally:
        connector.close()


def test_connector_with_private_trackers_allowed_reaches_the_emulator(
    harness: TrackerHarness,
) -> None:
    skip_if_lacking(harness, "outbound_http")
    connector = harness.connector(address_policy=AddressPolicy(allow_private=True))
    try:
        connector.check()
    finally:
        connector.close()
