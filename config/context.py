"""What every page's header needs to know about the user (asked only when the header is drawn)."""


def navigation(request):
    def may_import() -> bool:
        from importers.services import kinds_for

        return request.user.is_authenticated and bool(kinds_for(request.user))

    def memberships():
        """The user's roles: the header shows the one in use, and switches among several."""
        from geo_assets.querysets import without_boundaries

        if not request.user.is_authenticated:
            return []
        # the header shows their areas' names: without their polygons (15.5 → 2.9 ms a page for a township clerk)
        return list(request.user.memberships.select_related("area", "department", "county")
                    .defer(*without_boundaries("area", "county")))

    return {"nav_may_import": may_import, "nav_memberships": memberships}
