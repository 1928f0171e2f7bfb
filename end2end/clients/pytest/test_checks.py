"""Checks that pytest-jira-xray (from PyPI, unchanged) reports to this server's Xray Cloud
stand-in; the stand-in spec runs them with the key it created on the API Keys page."""

import pytest


@pytest.mark.xray('XK-4')
def test_passes():
    assert 1 + 1 == 2


@pytest.mark.xray('XK-5')
def test_fails_on_purpose():
    assert 'stand-in'.upper() == 'stand-in', 'reported to Xray as FAILED'
