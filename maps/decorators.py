"""View guards shared by the staff pages (maps, reports, verification office): roles are decided in geo_assets."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from geo_assets.access import scope_for


def staff_required(view):
    """Pages for accounts with a role: the public is sent to log in, or refused once logged in."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not scope_for(request.user).sees_personal_data:
            raise PermissionDenied("这些页面仅供有角色的工作人员使用。")
        return view(request, *args, **kwargs)

    return wrapper
