"""Fixtures shared by the lifecycle's tests (builders.py holds the helpers that build a county's whole life)."""

import pytest
from django.conf import settings
from django.test import Client

from tests.lifecycle.builders import build_county, build_rules_county, build_service_county


@pytest.fixture
def english_client():
    """A client that chose English (the set_language cookie; the default interface is Chinese)."""

    def make(user=None) -> Client:
        client = Client()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        if user is not None:
            client.force_login(user)
        return client

    return make

@pytest.fixture
def page_county(db):
    return build_county()


@pytest.fixture
def live_page_county(transactional_db):
    return build_county()


@pytest.fixture
def rules_county(db):
    return build_rules_county()


@pytest.fixture
def service_county(db):
    return build_service_county()
