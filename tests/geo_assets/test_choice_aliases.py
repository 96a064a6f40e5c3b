"""Issue 21 item 21: wherever a code is taken — the verification API, the map's and the API's filters, the area
list, the importers — the Chinese label the pages show (and the work plan's wording) stands for it, and every
refusal names the values actually accepted (codes and labels). `finding=存在完好` was refused with an error that
listed 存在完好 among the valid values."""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone, translation

from geo_assets.filters import asset_filters_parse
from geo_assets.taxonomy import (
    AreaLevel,
    AssetStatus,
    AssetType,
    Category,
    FundingSourceKind,
    OwnerKind,
    RegistrationStatus,
    Role,
)
from geo_assets.validation import choice_labels, choice_value
from importers import cells, vocab
from tests.factories import centre, make_admin, make_areas, make_asset, make_user
from verification.models import Verification
from verification.taxonomy import FINDING_ALIASES, Finding, Review


def zh(label) -> str:
    with translation.override("zh-hans"):
        return str(label)


def words(choices, aliases=None):
    """(code, word) for every code and each way of writing it: the code, its Chinese label, its aliases."""
    out = []
    for code, label in choices.choices:
        out += [(code, code), (code, zh(label))]
        out += [(code, alias) for alias in (aliases or {}).get(code, ())]
    return out


def test_labels_are_chinese_and_distinct():
    """The premise: each vocabulary's Chinese labels are Chinese and name one code each."""
    for choices in (Finding, Review, AssetType, Category, AssetStatus, AreaLevel, OwnerKind, RegistrationStatus,
                    FundingSourceKind):
        labels = [labels[0] for labels in choice_labels(choices).values()]
        assert len(set(labels)) == len(labels), choices
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in label) for label in labels), (choices, labels)


# ---------------------------------------------------------------- the verification API


@pytest.fixture
def site(db):
    areas = make_areas()
    admin = make_admin()
    clinic = make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.HEALTH, name="西南村卫生室",
                        geometry=centre(areas.west_south))
    clerk = make_user("westsouth", Role.VILLAGE, area=areas.west_south)
    return clerk, clinic


def record(user, asset, finding):
    client = Client()
    client.force_login(user)
    here = asset.location
    return client.post("/api/v1/verifications/", {
        "asset_code": asset.code, "finding": finding, "lon": here.x, "lat": here.y, "accuracy_m": 5,
        "observed_at": timezone.now().isoformat(), "client_id": str(uuid.uuid4())}, content_type="application/json")


@pytest.mark.parametrize(("code", "word"), words(Finding, FINDING_ALIASES))
def test_a_finding_is_accepted_as_code_label_or_work_plan_word(site, code, word):
    clerk, clinic = site
    response = record(clerk, clinic, word)
    assert response.status_code == 201, response.content
    assert response.json()["finding"] == code
    assert Verification.objects.get().finding == code


def test_finding_of_the_issue(site):
    clerk, clinic = site
    assert record(clerk, clinic, "存在完好").json()["finding"] == "intact"


def _names_every_value(message: str, choices) -> None:
    for code, label in choices.choices:
        assert code in message and zh(label) in message, (code, message)


@pytest.mark.parametrize("word", ["完好无损吗", "", "intact;"])
def test_an_unknown_finding_is_refused_naming_codes_and_labels(site, word):
    clerk, clinic = site
    response = record(clerk, clinic, word)
    assert response.status_code == 400
    _names_every_value(" ".join(response.json()["finding"]), Finding)


@pytest.mark.parametrize(("code", "word"), [*words(Review), ("__bad__", "很好")])
def test_the_review_filter_of_the_list(site, code, word):
    clerk, clinic = site
    record(clerk, clinic, "intact")
    client = Client()
    client.force_login(clerk)
    response = client.get("/api/v1/verifications/", {"review": word})
    if code == "__bad__":
        assert response.status_code == 400
        _names_every_value(" ".join(response.json()["review"]), Review)
        return
    assert response.status_code == 200, response.content
    assert {r["review"] for r in response.json()["results"]} <= {code}


@pytest.mark.parametrize(("word", "expected"), [("yes", 1), ("是", 1), ("no", 0), ("否", 0), ("也许", None)])
def test_the_flagged_filter_of_the_list(site, word, expected):
    clerk, clinic = site
    record(clerk, clinic, "intact")  # no photo: flagged
    client = Client()
    client.force_login(clerk)
    response = client.get("/api/v1/verifications/", {"flagged": word})
    if expected is None:
        assert response.status_code == 400 and "是" in str(response.json()) and "no" in str(response.json())
    else:
        assert len(response.json()["results"]) == expected


# ---------------------------------------------------------------- the map's and the API's filters (one parser)

FILTERS = [("category", Category, vocab.CATEGORY_LABELS), ("type", AssetType, vocab.TYPE_LABELS),
           ("status", AssetStatus, vocab.STATUS_LABELS)]
FILTER_CASES = [(name, code, word) for name, choices, aliases in FILTERS for code, word in words(choices, aliases)]


@pytest.mark.parametrize(("name", "code", "word"), FILTER_CASES)
def test_filters_accept_labels_and_ledger_words(name, code, word):
    parsed = asset_filters_parse({name: word})
    assert getattr(parsed, {"category": "categories", "type": "types", "status": "statuses"}[name]) == (code,)


@pytest.mark.parametrize(("name", "choices", "aliases"), FILTERS)
def test_filters_refuse_naming_codes_and_labels(name, choices, aliases):
    with pytest.raises(ValidationError) as caught:
        asset_filters_parse({name: "不存在的值"})
    _names_every_value(" ".join(caught.value.message_dict[name]), choices)


@pytest.mark.parametrize(("word", "expected"), [("yes", True), ("是", True), ("no", False), ("否", False)])
def test_the_verified_filter(word, expected):
    assert asset_filters_parse({"verified": word}).verified is expected


@pytest.mark.parametrize(("code", "word"), [*words(AssetType, vocab.TYPE_LABELS)[:6], ("__bad__", "飞船")])
def test_the_asset_api_and_tiles_take_labels(db, code, word):
    areas = make_areas()
    admin = make_admin()
    make_asset(actor=admin, area=areas.west_south, name="路", is_published=True)
    client = Client()
    response = client.get("/api/v1/assets/", {"type": word})
    tile = client.get("/tiles/assets/12/3309/1633.mvt", {"type": word})
    if code == "__bad__":
        assert response.status_code == tile.status_code == 400
        _names_every_value(str(response.json()), AssetType)
    else:
        assert response.status_code == 200 and tile.status_code in (200, 204), (response.content, tile.status_code)
        assert len(response.json()["features"]) == (1 if code == AssetType.ROAD else 0)


@pytest.mark.parametrize(("code", "word"), [*words(AreaLevel), ("__bad__", "大区")])
def test_the_area_list_level(db, code, word):
    make_areas()
    response = Client().get("/api/v1/areas/", {"level": word})
    if code == "__bad__":
        assert response.status_code == 400
        _names_every_value(str(response.json()), AreaLevel)
    else:
        assert response.status_code == 200
        present = {AreaLevel.COUNTY, AreaLevel.TOWNSHIP, AreaLevel.VILLAGE}  # make_areas has no prefecture
        assert {f["properties"]["level"] for f in response.json()["features"]} == ({code} & present)


# ---------------------------------------------------------------- the importers' vocabularies

IMPORT_TABLES = [(vocab.TYPE_INDEX, AssetType, vocab.TYPE_LABELS), (vocab.CATEGORY_INDEX, Category, vocab.CATEGORY_LABELS),
                 (vocab.STATUS_INDEX, AssetStatus, vocab.STATUS_LABELS),
                 (vocab.OWNER_KIND_INDEX, OwnerKind, vocab.OWNER_KIND_LABELS),
                 (vocab.REGISTRATION_INDEX, RegistrationStatus, vocab.REGISTRATION_LABELS),
                 (vocab.FUNDING_INDEX, FundingSourceKind, vocab.FUNDING_LABELS)]


@pytest.mark.parametrize(("index", "choices", "aliases"), IMPORT_TABLES, ids=lambda v: getattr(v, "__name__", ""))
def test_importers_take_every_code_its_register_label_and_the_ledger_words(index, choices, aliases):
    for code, word in words(choices, aliases):
        assert cells.lookup(index, word) == code, (choices, word)
        assert choice_value(word, choices, field="x", aliases=aliases) == code


@pytest.mark.parametrize(("table", "choices"), [(vocab.TYPE_LABELS, AssetType), (vocab.STATUS_LABELS, AssetStatus),
                                                (vocab.OWNER_KIND_LABELS, OwnerKind),
                                                (vocab.REGISTRATION_LABELS, RegistrationStatus),
                                                (vocab.CATEGORY_LABELS, Category),
                                                (vocab.FUNDING_LABELS, FundingSourceKind)])
def test_import_refusals_name_codes_and_labels(table, choices):
    message = vocab.accepted(table)
    for code in choices.values:
        assert f"{table[code][0]}（{code}）" in message
