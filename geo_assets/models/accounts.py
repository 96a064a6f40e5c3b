"""The login session, with the logged-in user's id beside the session data so that one statement reads both
(geo_assets.auth)."""

from importlib import import_module

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models


class Session(AbstractBaseSession):
    """Django's database session plus `user_id`, kept equal to the session's logged-in user at every save."""

    user_id = models.IntegerField(null=True, blank=True, db_index=True)

    @classmethod
    def get_session_store_class(cls):
        return import_module(settings.SESSION_ENGINE).SessionStore  # geo_assets.auth (which imports the models)

    class Meta(AbstractBaseSession.Meta):
        db_table = "geo_assets_session"
