"""The register's messages in both languages (issue 16 item 5): Chinese by default, English under "en"."""

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import translation

from geo_assets.taxonomy import AssetStatus
from geo_assets.uploads import too_large_message
from geo_assets.validation import choice_value, phone_check


def message(check, *args, **kwargs) -> str:
    with pytest.raises(ValidationError) as error:
        check(*args, **kwargs)
    return " ".join(error.value.messages)


def test_validation_messages_in_both_languages():
    assert message(phone_check, "打电话给我") == "联系电话“打电话给我”格式不正确"
    with translation.override("en"):
        assert message(phone_check, "打电话给我") == "The contact phone “打电话给我” is not a valid number"
    refused = message(choice_value, "nope", AssetStatus, field="status")
    assert "in_use（在用）、idle（闲置）" in refused
    with translation.override("en"):
        refused = message(choice_value, "nope", AssetStatus, field="status")
    assert "“nope” is not accepted" in refused and "in_use (in use), idle (idle)" in refused and "在用" not in refused


def test_upload_refusal_in_both_languages():
    assert too_large_message(200 * 1024**2, 50 * 1024**2).startswith("上传的内容太大（200 MB），一次最多 50 MB")
    with translation.override("en"):
        assert too_large_message(200 * 1024**2, 50 * 1024**2).startswith("The upload is too large (200 MB)")


def test_command_output_follows_the_language(db):
    out = StringIO()
    call_command("clusters_rebuild", stdout=out)
    assert "聚合表已重建" in out.getvalue()
    with translation.override("en"):
        call_command("clusters_rebuild", stdout=(out := StringIO()))
    assert "Cluster table rebuilt" in out.getvalue()
