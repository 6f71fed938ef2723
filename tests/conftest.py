"""Fixtures shared by every test module."""
import pytest

from helpers import live_now


@pytest.fixture
def live():
    """The arena's live-node count before the test; compare with live_now()."""
    return live_now()
