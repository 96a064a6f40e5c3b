"""The project pages (issue 17, "Project page and map"): the list of projects and one project's page — its funds,
the assets it formed on a small map and in a table, what is formed and what is not, its flags and documents — with
the forms to record a fund line and to link an asset. Staff with a role only (the ledgers are not public).

Views only translate: who sees a project is Project.objects.visible_to (projects.access); a form shows only when
its rule (projects.rules.may_*) lets the user use it, and the services refuse through the same functions."""

import json
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_GET, require_POST

from geo_assets.access import scope_for
from geo_assets.guards import next_url, staff_required, throttled
from geo_assets.models import Asset
from projects import rules, selectors, services
from projects.forms import FundLineForm, LinkForm, ProjectFilterForm
from projects.models import FundLine, Project
from projects.taxonomy import LinkOrigin

PAGE_SIZE = 50
STAFF_ONLY = _l("The project and fund ledgers are for staff with a role only.")


def denied(request, message: str):
    return render(request, "projects/denied.html", {"message": message or _("You may not do this.")}, status=403)


def staff_pages(view):
    """The public is sent to log in; an account without a role is refused; a service's PermissionDenied becomes a
    403 page with its message (geo_assets.guards.staff_required)."""
    return staff_required(refused=denied, message=STAFF_ONLY)(view)


def errors_on(form, exc: ValidationError) -> None:
    """A service's refusal on the form: on the field it names, else above the form."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields and name not in ("line", "origin", "next") else None, errors)
    else:
        form.add_error(None, exc.messages)


def _project(request, code: str) -> Project:
    """A project the user sees; any other is as absent as a missing one (404)."""
    return get_object_or_404(Project.objects.visible_to(request.user)
                             .select_related("department", "township"), code=code)


def _line_of(project, value):
    """The project's fund line whose id is `value` (a query or form value, however hostile), or None."""
    value = str(value or "")
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        return None
    return FundLine.objects.filter(project=project, pk=int(value)).first()


def project_url(project) -> str:
    return reverse("projects:project", args=[project.code])


# ---------------------------------------------------------------- the list


@require_GET
@throttled
@staff_pages
def project_list(request):
    filters = ProjectFilterForm(request.GET or None, user=request.user)
    values = filters.values()
    page = Paginator(selectors.project_list(request.user, **values), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "projects/list.html", {
        "filters": filters, "page": page, "query": query.urlencode(),
        "may_create": rules.may_edit_project(request.user, None) is None,
    })


# ---------------------------------------------------------------- one project


def _page_context(request, project, *, fund_form=None, link_form=None) -> dict:
    user = request.user
    summary = selectors.project_summary(project)
    rows, hidden = selectors.project_assets(project, user=user)
    may_funds = rules.may_edit_funds(user, project) is None
    may_link = rules.may_link_some(user, project) is None
    suggestions = []
    if may_link:
        found = selectors.asset_suggestions(project, user=user)
        editable = set(Asset.objects.editable_by(user).filter(pk__in=[a.pk for a, _s in found])
                       .values_list("pk", flat=True))
        suggestions = [(asset, score) for asset, score in found
                       if rules.may_link(user, project, asset, asset_editable=asset.pk in editable) is None]
    if may_funds and fund_form is None:
        correct = _line_of(project, request.GET.get("correct"))
        initial = ({"line": correct.pk, "source": correct.source, "document_number": correct.document_number,
                    "year": correct.year, "allocated": correct.allocated, "disbursed": correct.disbursed,
                    "note": correct.note} if correct else {"year": project.year})
        fund_form = FundLineForm(initial=initial)
        fund_form.correcting = correct
    if may_link and link_form is None:
        link_form = LinkForm(initial={"origin": LinkOrigin.MANUAL})
    return {
        "project": project, "summary": summary, "assets": rows, "hidden_assets": hidden,
        "funds": list(project.funds.order_by("year", "source", "document_number")),
        "villages": list(project.villages.order_by("code")),
        "flags": selectors.project_flags(project, summary),
        "suggestions": suggestions, "fund_form": fund_form if may_funds else None,
        "link_form": link_form if may_link else None,
        "may_edit_project": rules.may_edit_project(user, project) is None,
        "admin_url": reverse("admin:projects_project_change", args=[project.pk]),
        "map_url": reverse("projects:assets-geojson", args=[project.code]),
        "show_on_map": "/#project=" + project.code,
        "scope_role": scope_for(user).role,
    }


@require_GET
@throttled
@staff_pages
def project_page(request, code: str):
    project = _project(request, code)
    return render(request, "projects/project.html", _page_context(request, project))


@require_GET
@throttled
@staff_pages
def project_assets_geojson(request, code: str):
    """The project's assets the user sees, for the page's map. Text is escaped for HTML inside the JSON (`<`, `>`,
    `&` as \\u escapes: the same string once parsed) and the popup writes it as text, never as markup."""
    project = _project(request, code)
    data = json.dumps(selectors.project_assets_geojson(project, user=request.user), ensure_ascii=False)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    response = HttpResponse(data, content_type="application/geo+json; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@staff_pages
def fund_line_post(request, code: str):
    """Record a fund line or correct one (finance bureau, lead department, county administrator)."""
    project = _project(request, code)
    refusal = rules.may_edit_funds(request.user, project)
    if refusal is not None:
        return denied(request, refusal.message)
    form = FundLineForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        line = FundLine(project=project)
        if data["line"] is not None:
            line = _line_of(project, data["line"])
            if line is None:
                form.add_error(None, _("This fund line is not one of this project's."))
        if line is not None and not form.errors:
            line.source, line.document_number, line.year = data["source"], data["document_number"], data["year"]
            line.allocated = data["allocated"]
            line.disbursed = data["disbursed"] if data["disbursed"] is not None else Decimal(0)
            line.note = data["note"]
            try:
                services.fund_line_save(actor=request.user, line=line,
                                        reason=_("corrected on the project page") if line.pk
                                        else _("entered on the project page"))
            except ValidationError as exc:
                errors_on(form, exc)
            else:
                messages.success(request, _("The fund line is saved."))
                return redirect(project_url(project) + "#funds")
    form.correcting = _line_of(project, form.data.get("line"))
    return render(request, "projects/project.html", _page_context(request, project, fund_form=form))


@require_POST
@staff_pages
def link_post(request, code: str):
    """Link an asset to the project by its code (by hand or by accepting a suggestion), with an optional amount."""
    project = _project(request, code)
    refusal = rules.may_link_some(request.user, project)
    if refusal is not None:
        return denied(request, refusal.message)
    form = LinkForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        asset = Asset.objects.visible_to(request.user).filter(code=data["asset"].strip()).first()
        if asset is None:
            form.add_error("asset", _("No asset with the code %(code)s that you may see.") % {"code": data["asset"]})
        else:
            try:
                services.project_asset_link(actor=request.user, project=project, asset=asset, amount=data["amount"],
                                            origin=data["origin"] or LinkOrigin.MANUAL)
            except ValidationError as exc:
                errors_on(form, exc)
            else:
                messages.success(request, _("%(asset)s is linked to project %(project)s.")
                                 % {"asset": asset.code, "project": project.code})
                return redirect(next_url(request, data.get("next", ""), project_url(project) + "#assets"))
    return render(request, "projects/project.html", _page_context(request, project, link_form=form))
