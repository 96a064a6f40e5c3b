"""The permission matrix per role, below the views: querysets and services."""

import pytest
from django.core.exceptions import PermissionDenied

from geo_assets import services
from geo_assets.models import AdminArea, Asset
from geo_assets.taxonomy import AssetType
from tests.factories import centre, make_asset

ALL = {"west_road", "west_clinic", "east_road", "east_clinic"}
PUBLISHED = {"west_road", "east_clinic"}
MATRIX = {
    # role: (visible, editable)
    "county": (ALL, ALL),
    "superuser": (ALL, ALL),
    "inspector": (ALL, set()),
    "transport": ({"west_road", "east_road"}, {"west_road", "east_road"}),
    "health": ({"west_clinic", "east_clinic"}, {"west_clinic", "east_clinic"}),
    "west": ({"west_road", "west_clinic"}, {"west_road", "west_clinic"}),
    "west_north": ({"west_clinic"}, {"west_clinic"}),
    "public": (PUBLISHED, set()),
    "no_membership": (PUBLISHED, set()),
    "anonymous": (PUBLISHED, set()),
}


@pytest.mark.parametrize("role", MATRIX)
def test_visible_and_editable_per_role(permission_world, role):
    _areas, assets, users = permission_world
    names = {asset.pk: name for name, asset in assets.items()}
    user = users[role]
    visible = {names[pk] for pk in Asset.objects.visible_to(user).values_list("pk", flat=True)}
    editable = {names[pk] for pk in Asset.objects.editable_by(user).values_list("pk", flat=True)}
    assert (visible, editable) == MATRIX[role]


@pytest.mark.parametrize("role", MATRIX)
def test_update_service_obeys_the_matrix(permission_world, role):
    _areas, assets, users = permission_world
    for name, asset in assets.items():
        if name in MATRIX[role][1]:
            services.asset_update(actor=users[role], asset=asset, changes={"custodian_person": f"{role}改"})
            asset.refresh_from_db()
            assert asset.custodian_person == f"{role}改"
        else:
            with pytest.raises(PermissionDenied):
                services.asset_update(actor=users[role], asset=asset, changes={"custodian_person": "越权"})
            asset.refresh_from_db()
            assert asset.custodian_person != "越权"


def test_township_clerk_cannot_move_an_asset_out_of_the_township(permission_world):
    areas, assets, users = permission_world
    with pytest.raises(PermissionDenied):
        services.asset_update(actor=users["west"], asset=assets["west_road"], changes={},
                              geometry=centre(areas.east_north))
    assets["west_road"].refresh_from_db()
    assert assets["west_road"].township == areas.west


def test_township_clerk_cannot_register_in_another_township(permission_world):
    areas, _assets, users = permission_world
    with pytest.raises(PermissionDenied):
        make_asset(actor=users["west"], area=areas.east_south, asset_type=AssetType.HEALTH)
    created = make_asset(actor=users["west"], area=areas.west_south, asset_type=AssetType.HEALTH)
    assert created.township == areas.west


def test_department_cannot_switch_an_asset_to_another_sector(permission_world):
    _areas, assets, users = permission_world
    with pytest.raises(PermissionDenied):
        services.asset_update(actor=users["transport"], asset=assets["west_road"],
                              changes={"asset_type": AssetType.HEALTH})


@pytest.mark.parametrize("role", ["inspector", "public", "anonymous", "west"])
def test_only_county_admins_dispose_outside_their_scope(permission_world, role):
    import datetime

    _areas, assets, users = permission_world
    with pytest.raises(PermissionDenied):
        services.asset_dispose(actor=users[role], asset=assets["east_road"], method="scrap",
                               approval_reference="x", approved_on=datetime.date(2026, 1, 1))


def test_area_editing_is_for_county_admins(permission_world):
    _areas, _assets, users = permission_world
    assert AdminArea.objects.editable_by(users["county"]).count() == 7
    assert AdminArea.objects.editable_by(users["west"]).count() == 0
    assert set(AdminArea.objects.within_scope_of(users["west"]).values_list("code", flat=True)) == {
        "410324101000", "410324101001", "410324101002"}


def test_county_admin_grants_roles_and_the_scope_follows(areas, admin_user):
    from io import StringIO

    from django.core.exceptions import ValidationError
    from django.core.management import CommandError, call_command

    user, password = services.user_grant_role(actor=admin_user, username="xizhen", role="township",
                                              area_code=areas.west.code)
    assert password and user.check_password(password) and user.is_staff
    west_asset = make_asset(actor=admin_user, area=areas.west_south)
    east_asset = make_asset(actor=admin_user, area=areas.east_south)
    assert set(Asset.objects.editable_by(user)) == {west_asset}
    again, no_password = services.user_grant_role(actor=admin_user, username="xizhen", role="village",
                                                  area_code=areas.east_south.code)
    assert no_password is None
    again = type(user).objects.get(pk=user.pk)  # a fresh object: no cached scope
    assert set(Asset.objects.editable_by(again)) == {west_asset}  # a second role; the first stays in use
    services.membership_activate(actor=again, membership_id=again.memberships.get(role="village").pk)
    assert set(Asset.objects.editable_by(again)) == {east_asset}
    assert [m.current for m in again.memberships.all()] == [False, True]
    assert again.memberships.get(role="village").history.count() == 2  # granted, then chosen
    with pytest.raises(ValidationError):  # a village code for a township role
        services.user_grant_role(actor=admin_user, username="x", role="township", area_code=areas.west_south.code)
    with pytest.raises(PermissionDenied):
        services.user_grant_role(actor=again, username="y", role="county_admin")
    out = StringIO()
    call_command("grant_role", "jiaotongju", "inspector", stdout=out)
    assert "新账号密码" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("grant_role", "z", "department", "--department", "不存在局", stdout=StringIO())
