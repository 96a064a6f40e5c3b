"""Fixtures shared by the lifecycle's tests (builders.py holds the helpers that build a county's whole life)."""

import pytest
from django.conf import settings
from django.test import Client


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
