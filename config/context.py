"""What every page's header needs to know about the user (asked only when the header is drawn)."""


def navigation(request):
    def may_import() -> bool:
        from importers.services import kinds_for

        return request.user.is_authenticated and bool(kinds_for(request.user))

    def memberships():
        """The user's roles: the header shows the one in use, and switches among several."""
        if not request.user.is_authenticated:
            return []
        return list(request.user.memberships.select_related("area", "department", "county"))

    return {"nav_may_import": may_import, "nav_memberships": memberships}
