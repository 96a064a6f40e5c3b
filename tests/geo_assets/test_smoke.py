from tests.factories import make_asset


def test_register_derives_village_and_code(areas, admin_user):
    asset = make_asset(actor=admin_user, area=areas.east_north)
    assert asset.village == areas.east_north
    assert asset.township == areas.east
    assert asset.code == "410324102002-0001"
