"""The register's own pages: choosing the role a person acts in (the header's role switcher)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.views.decorators.http import require_POST

from geo_assets import services
from geo_assets.guards import next_url


@require_POST
@login_required
def role_choose(request):
    """POST membership=<id>: act in that role of one's own from now on; back to where the form was."""
    try:
        membership_id = int(request.POST.get("membership", ""))
    except ValueError:
        membership_id = 0
    services.membership_activate(actor=request.user, membership_id=membership_id)
    return HttpResponseRedirect(next_url(request, request.POST.get("next", ""), "/"))
