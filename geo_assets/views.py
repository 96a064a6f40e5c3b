"""The register's own pages: choosing the role a person acts in (the header's role switcher)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from geo_assets import services


@require_POST
@login_required
def role_choose(request):
    """POST membership=<id>: act in that role of one's own from now on; back to where the form was."""
    try:
        membership_id = int(request.POST.get("membership", ""))
    except ValueError:
        membership_id = 0
    services.membership_activate(actor=request.user, membership_id=membership_id)
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = "/"
    return HttpResponseRedirect(target)
