"""Every write to the project and fund ledgers: keyword-only `<thing>_<action>(*, actor, …)`, each refusing through
projects.rules, validating with the register's bounds (geo_assets.validation) and writing in one transaction.
Nothing is deleted: a wrong line is corrected, a cancelled project is marked cancelled."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from geo_assets.models import AdminArea, Asset
from geo_assets.refusals import enforce
from geo_assets.taxonomy import AreaLevel
from geo_assets.validation import amount_check, date_check, dates_in_order, year_max
from projects import rules
from projects.models import FundLine, LedgerPolicy, Project, ProjectAsset
from projects.taxonomy import LinkOrigin, ProjectStatus

PROJECT_FIELDS = ("code", "name", "year", "kind", "implementing_unit", "department", "department_id", "township",
                  "township_id", "township_seat", "approval_document", "started_on", "completed_on", "accepted_on",
                  "acceptance_document", "status", "note")


def _stamp(obj, actor, reason: str):
    obj._history_user = actor
    obj._change_reason = reason
    return obj


def year_check(year, *, field: str = "year") -> int:
    """A ledger year: from 1990 up to next year on the county's clock."""
    try:
        value = int(year)
    except (TypeError, ValueError):
        value = None
    if value is None or not 1990 <= value <= year_max():
        raise ValidationError({field: _("The year %(value)s is outside 1990 to %(last)s.")
                               % {"value": year, "last": year_max()}})
    return value


def _project_check(project: Project) -> None:
    errors: dict[str, list] = {}
    checks = [lambda: year_check(project.year)]
    checks += [lambda name=name: date_check(getattr(project, name), field=name)
               for name in ("started_on", "completed_on", "accepted_on")]
    checks += [lambda: dates_in_order(project.started_on, project.completed_on, field="completed_on",
                                      message=_("A project cannot be completed before it started.")),
               lambda: dates_in_order(project.completed_on, project.accepted_on, field="accepted_on",
                                      message=_("A project cannot be accepted before it was completed."))]
    for check in checks:
        try:
            check()
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
    if project.status == ProjectStatus.ACCEPTED and not project.accepted_on:
        errors.setdefault("accepted_on", []).append(_("An accepted project needs its acceptance date."))
    if project.township_id and AdminArea.objects.filter(pk=project.township_id).values_list(
            "level", flat=True).first() != AreaLevel.TOWNSHIP:
        errors.setdefault("township", []).append(_("Choose a township."))
    if errors:
        raise ValidationError(errors)


def _villages_check(project: Project, villages) -> list:
    villages = list(villages)
    wrong = [v for v in villages if v.level != AreaLevel.VILLAGE]
    if wrong:
        raise ValidationError({"villages": _("%(name)s is not a village.") % {"name": wrong[0].name}})
    if project.township_id and any(v.parent_id != project.township_id for v in villages):
        raise ValidationError({"villages": _("Every village served must lie in the project's township.")})
    if project.county_id and any(not v.code.startswith(project.county_id[:6]) for v in villages):
        raise ValidationError({"villages": _("Every village served must lie in the project's county.")})
    return villages


def project_check(*, actor, project: Project, villages=None) -> None:
    """Everything project_save refuses, without writing (the admin's form shows it on the form): the actor may
    change the project as it is stored and as it would be, its dates are bounded and in order, its villages lie in
    its township."""
    if project.pk:
        current = Project.objects.filter(pk=project.pk).first()
        enforce(rules.may_edit_project(actor, current))
    if project.county_id is None:
        project.county_id = project_county(actor, project, villages)
    enforce(rules.may_edit_project(actor, project))
    _project_check(project)
    project.full_clean(exclude=["villages"])
    if villages is not None:
        _villages_check(project, villages)


def project_save(*, actor, project: Project, villages=None, reason: str = "") -> Project:
    """Create or change a project (and the villages it served, when given: village areas only)."""
    with transaction.atomic():
        if project.pk:
            current = Project.objects.select_for_update().get(pk=project.pk)
            enforce(rules.may_edit_project(actor, current))
        if project.county_id is None:
            project.county_id = project_county(actor, project, villages)
        enforce(rules.may_edit_project(actor, project))
        _project_check(project)
        project.full_clean(exclude=["villages"])
        villages = None if villages is None else _villages_check(project, villages)
        _stamp(project, actor, reason or (_("changed") if project.pk else _("entered"))).save()
        if villages is not None:
            project.villages.set(villages)
    return project


def project_county(actor, project: Project, villages=None) -> str | None:
    """The county a project belongs to: its township's, else its first village's, else the county of the body
    entering it (none for a superuser of a register with several counties)."""
    from geo_assets.access import scope_for
    from geo_assets.taxonomy import county_code_of

    area = project.township if project.township_id else next(iter(villages or ()), None)
    if area is not None:
        return county_code_of(area.code)
    from geo_assets.models.register import membership_county

    counties = scope_for(actor).counties
    return counties[0] if counties and len(counties) == 1 else membership_county(None)


def fund_line_check(*, actor, line: FundLine) -> None:
    """Everything fund_line_save refuses, without writing: the actor keeps this project's funds (and, for a
    correction, the project the line was stored under), the year and both amounts are within the bounds
    (geo_assets.validation), no more is disbursed than allocated, one line per source and document."""
    project = Project.objects.filter(pk=line.project_id).first()
    if project is None:
        raise ValidationError({"project": _("Choose the project.")})
    enforce(rules.may_edit_funds(actor, project))
    if line.pk:
        stored = FundLine.objects.filter(pk=line.pk).select_related("project").first()
        if stored is not None:
            enforce(rules.may_edit_funds(actor, stored.project))
    errors: dict[str, list] = {}
    for check in (lambda: year_check(line.year),
                  lambda: amount_check(line.allocated, field="allocated"),
                  lambda: amount_check(line.disbursed, field="disbursed")):
        try:
            check()
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    line.document_number = (line.document_number or "").strip()
    line.full_clean(exclude=["recorded_by"])


def fund_line_save(*, actor, line: FundLine, reason: str = "") -> FundLine:
    """Record or correct a fund line; the finance bureau, the lead department or a county administrator."""
    with transaction.atomic():
        Project.objects.select_for_update().get(pk=line.project_id)
        fund_line_check(actor=actor, line=line)
        if line.pk is None:
            line.recorded_by = actor
        _stamp(line, actor, reason or (_("changed") if line.pk else _("entered"))).save()
    return line


def _link_amount_check(project: Project, amount: Decimal | None, *, except_link: int | None) -> None:
    if amount is None:
        return
    amount_check(amount, field="amount")
    disbursed = project.funds.aggregate(s=Sum("disbursed"))["s"] or Decimal(0)
    stated = (project.links.exclude(pk=except_link).exclude(amount__isnull=True)
              .aggregate(s=Sum("amount"))["s"] or Decimal(0))
    if stated + amount > disbursed:
        raise ValidationError({"amount": _(
            "The amounts stated for this project's assets would reach %(total)s (10k yuan), more than the "
            "%(disbursed)s it disbursed.") % {"total": stated + amount, "disbursed": disbursed}})


def project_asset_link_check(*, actor, project: Project, asset: Asset, amount: Decimal | None = None) -> None:
    """Everything project_asset_link refuses, without writing (the admin's form shows it)."""
    editable = Asset.objects.editable_by(actor).filter(pk=asset.pk).exists()
    enforce(rules.may_link(actor, project, asset, asset_editable=editable))
    link = ProjectAsset.objects.filter(project=project, asset=asset).first()
    _link_amount_check(project, amount, except_link=link.pk if link else None)


def project_asset_link(*, actor, project: Project, asset: Asset, amount: Decimal | None = None,
                       origin: str = LinkOrigin.MANUAL, reason: str = "") -> ProjectAsset:
    """Say that the project formed the asset (with the amount it contributed, when known). Linking again changes
    the amount; the link is never removed (a wrong link is corrected by linking the right project and stating 0)."""
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        project_asset_link_check(actor=actor, project=project, asset=asset, amount=amount)
        link = ProjectAsset.objects.filter(project=project, asset=asset).first() or ProjectAsset(
            project=project, asset=asset, origin=origin, linked_by=actor)
        link.amount = amount
        link.full_clean()
        _stamp(link, actor, reason or _("linked to project %(code)s") % {"code": project.code}).save()
    return link


def policy_current() -> LedgerPolicy:
    return LedgerPolicy.objects.order_by("pk").first() or LedgerPolicy()


def policy_save(*, actor, policy: LedgerPolicy, reason: str = "") -> LedgerPolicy:
    from geo_assets.access import scope_for

    if not scope_for(actor).is_county_admin:
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied(_("Only a county administrator sets the reconciliation tolerance."))
    with transaction.atomic():
        existing = LedgerPolicy.objects.select_for_update().order_by("pk").first()
        if existing is not None and policy.pk != existing.pk:
            policy.pk = existing.pk
        policy.full_clean()
        _stamp(policy, actor, reason or _("changed")).save()
    return policy


# ---------------------------------------------------------------- the same rules on many rows (importers)


def _errors_of(checks) -> dict[str, list]:
    errors: dict[str, list] = {}
    for check in checks:
        try:
            check()
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
    return errors


def project_values_errors(project: Project) -> dict[str, list]:
    """What _project_check refuses in a project's own values, without a query, as {field: [messages]} (the
    importers check thousands of rows this way): the year, the dates within the register's bounds and in order, an
    accepted project's acceptance date."""
    errors = _errors_of([
        lambda: year_check(project.year),
        *(lambda name=name: date_check(getattr(project, name), field=name)
          for name in ("started_on", "completed_on", "accepted_on")),
        lambda: dates_in_order(project.started_on, project.completed_on, field="completed_on",
                               message=_("A project cannot be completed before it started.")),
        lambda: dates_in_order(project.completed_on, project.accepted_on, field="accepted_on",
                               message=_("A project cannot be accepted before it was completed.")),
    ])
    if project.status == ProjectStatus.ACCEPTED and not project.accepted_on:
        errors.setdefault("accepted_on", []).append(_("An accepted project needs its acceptance date."))
    return errors


def fund_line_values_errors(line: FundLine) -> dict[str, list]:
    """What fund_line_save refuses in a line's own values, without a query, as {field: [messages]}: the year, both
    amounts within the register's bounds (geo_assets.validation), no more disbursed than allocated."""
    errors = _errors_of([lambda: year_check(line.year),
                         lambda: amount_check(line.allocated, field="allocated"),
                         lambda: amount_check(line.disbursed, field="disbursed")])
    if not errors and line.disbursed > line.allocated:
        errors["disbursed"] = [_("More cannot be disbursed than was allocated.")]
    return errors
