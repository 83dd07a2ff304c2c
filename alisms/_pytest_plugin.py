"""alisms's pytest plugin: the ``sms_fake`` fixture, loaded by pytest through an entry point.

Example, in your own test suite::

    def test_signup_sends_a_code(sms_fake):
        with sms_fake.client() as client:
            signup(client, "+85212345678")
        assert sms_fake.messages[0].to == "85212345678"
"""

from __future__ import annotations

import pytest

from alisms.testing import FakeSMSService


@pytest.fixture
def sms_fake() -> FakeSMSService:
    """A fresh :class:`alisms.testing.FakeSMSService` for one test."""
    return FakeSMSService()
