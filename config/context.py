"""What every page's header needs to know about the user (asked only when the header is drawn)."""


def navigation(request):
    def may_import() -> bool:
        from importers.services import kinds_for

        return request.user.is_authenticated and bool(kinds_for(request.user))

    return {"nav_may_import": may_import}
