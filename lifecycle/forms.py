"""Forms of the lifecycle pages (issue 9). They only collect and type the input; every rule (who, in which order,
which documents) is checked by lifecycle.services and lifecycle.rules, whose refusals the views put on the form."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from geo_assets.models import Department, OperationContract
from geo_assets.taxonomy import (
    DisposalMethod,
    DisposalReason,
    MaintenanceKind,
    OwnerKind,
    PlanPurpose,
    PublicityScope,
)

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TEXT = forms.Textarea(attrs={"rows": 3})
ACCEPT = ".pdf,.jpg,.jpeg,.png,.heic,.docx,.xlsx"
MONEY = {"max_digits": 14, "decimal_places": 4, "min_value": 0}


def within_limit(upload) -> None:
    limit = settings.ATTACHMENT_MAX_BYTES
    if upload is not None and upload.size > limit:
        raise ValidationError(_('The attachment "%(name)s" is too large (%(size).1f MB); the limit is %(limit).0f MB.')
                              % {"name": upload.name, "size": upload.size / 1024**2, "limit": limit / 1024**2})


def must(field: forms.Field) -> forms.Field:
    """Required by the rule, not by the form: marked * on the page, but the service's own message says what is
    missing (and in which order), so the form lets it through."""
    field.must = True
    return field


def document(label: str, required: bool = True) -> forms.FileField:
    field = forms.FileField(label=label, required=False, validators=[within_limit],
                            widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}))
    return must(field) if required else field


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        super().__init__(required=False, validators=[within_limit], **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(f, initial) for f in files if f]


def upload(file) -> tuple[str, bytes] | None:
    """An uploaded file as the services take it: (name, content)."""
    return (file.name, file.read()) if file else None


def date(label: str, **kwargs) -> forms.DateField:
    return forms.DateField(label=label, widget=DATE, **kwargs)


class ConfirmForm(forms.Form):
    """A step with no input of its own (submit, review)."""


class OwnershipSubmitForm(forms.Form):
    """Submitting the ownership registration. When a project formed the asset, the form starts from the project's
    proposal (projects.rules.owner_proposal, given as `start`: the owner kind and the owners and shares, changeable
    before submitting); the service writes them onto the asset and submits. Without a project it has no input of
    its own: the ownership recorded on the asset is submitted (its kind defaulting by type, DEFAULT_OWNER_KIND)."""

    EXTRA_ROWS = 2

    def __init__(self, *args, start=None, **kwargs):
        """`start`: None (no project), or (owner kind, ((name, kind, share), …)) to prefill."""
        super().__init__(*args, **kwargs)
        self.rows: list[tuple[str, str, str]] = []
        if start is None:
            return
        kind, owners = start
        self.fields["owner_kind"] = forms.ChoiceField(label=_l("Owner kind"), choices=OwnerKind.choices, initial=kind)
        kinds = [("", "—"), *OwnerKind.choices]
        for i in range(len(owners) + self.EXTRA_ROWS):
            name, owner_kind, share = owners[i] if i < len(owners) else ("", "", None)
            self.fields[f"owner_name_{i}"] = forms.CharField(label=_l("Owner"), max_length=200, required=False,
                                                             initial=name)
            self.fields[f"owner_kind_{i}"] = forms.ChoiceField(label=_l("Kind"), choices=kinds, required=False,
                                                               initial=owner_kind)
            self.fields[f"owner_share_{i}"] = forms.DecimalField(label=_l("Share (%)"), required=False, min_value=0,
                                                                 max_value=100, decimal_places=3, initial=share)
            self.rows.append((f"owner_name_{i}", f"owner_kind_{i}", f"owner_share_{i}"))

    def owner_rows(self):
        """The owner rows as bound fields, for the page's table."""
        return [tuple(self[name] for name in row) for row in self.rows]

    def clean(self):
        data = super().clean()
        if "owner_kind" not in self.fields:
            return data
        owners = []
        for name_field, kind_field, share_field in self.rows:
            name, kind, share = (data.get(name_field) or "").strip(), data.get(kind_field), data.get(share_field)
            if not name and not kind and share is None:
                continue
            if not name:
                self.add_error(name_field, _("Name the owner of this share."))
            elif not kind:
                self.add_error(kind_field, _("Choose the owner's kind."))
            elif share is None:
                self.add_error(share_field, _("Give the owner's share."))
            else:
                owners.append((name, kind, share))
        data["owners"] = owners
        return data


class OwnershipDecideForm(forms.Form):
    confirm = forms.TypedChoiceField(label=_l("Decision"), choices=[("1", _l("Confirm")), ("0", _l("Return"))], coerce=lambda v: v == "1",
                                     widget=forms.RadioSelect, initial="1")
    comment = forms.CharField(label=_l("Comment (required when returning)"), required=False, widget=TEXT)


class HandoverForm(forms.Form):
    signed_on = date(_l("Signed on"))
    handed_over_by = forms.CharField(label=_l("Handed over by"), max_length=200)
    received_by = forms.CharField(label=_l("Received by"), max_length=200)
    custodian = forms.CharField(label=_l("Custodian"), max_length=200)
    scan = document(_l("Scan of the signed letter"))


class MaintenanceForm(forms.Form):
    done_on = date(_l("Date"))
    kind = forms.ChoiceField(label=_l("Kind of custody"), choices=MaintenanceKind.choices)
    cost = forms.DecimalField(label=_l("Cost (ten-thousand yuan)"), initial=0, **MONEY)
    done_by = forms.CharField(label=_l("Done by (person or unit)"), max_length=200)
    description = forms.CharField(label=_l("Work done"), widget=TEXT)
    photos = MultipleFileField(label=_l("Photos on site (several allowed)"))


class CustodianForm(forms.Form):
    effective_on = date(_l("Effective from"))
    unit = forms.CharField(label=_l("New custodian unit"), max_length=200)
    person = forms.CharField(label=_l("Responsible person"), max_length=50, required=False)
    phone = forms.CharField(label=_l("Phone"), max_length=20, required=False)


class WelfarePostForm(forms.Form):
    holder = forms.CharField(label=_l("Post holder"), max_length=50)
    from_poor_household = forms.BooleanField(label=_l("From a household lifted out of poverty (or monitored)"), required=False, initial=True)
    starts_on = date(_l("Start date"))
    ends_on = date(_l("End date"), required=False)
    monthly_pay = forms.DecimalField(label=_l("Monthly pay (yuan)"), max_digits=10, decimal_places=2, min_value=0)


class ContractForm(forms.Form):
    operator = forms.CharField(label=_l("Operator"), max_length=200)
    number = forms.CharField(label=_l("Contract number"), max_length=100)
    starts_on = date(_l("Start date"))
    ends_on = date(_l("End date"))
    yearly_due = forms.DecimalField(label=_l("Yearly rent or income due (ten-thousand yuan)"), **MONEY)
    mechanism = must(forms.CharField(label=_l("Poverty-reduction mechanism"), widget=TEXT, required=False))
    risk_clauses = forms.CharField(label=_l("Risk-control clauses"), widget=TEXT, required=False)
    renews = forms.ModelChoiceField(label=_l("Contract renewed"), queryset=OperationContract.objects.none(), required=False,
                                    empty_label=_l("(new, not a renewal)"))
    scan = document(_l("Contract scan"), required=False)

    def __init__(self, *args, asset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["renews"].queryset = asset.contracts.filter(renewed_by__isnull=True)
        self.fields["renews"].label_from_instance = lambda c: _("%(number)s (%(operator)s, until %(ends)s)") % {
            "number": c.number, "operator": c.operator, "ends": c.ends_on}


class IncomeForm(forms.Form):
    year = forms.IntegerField(label=_l("Income year"), min_value=2000, max_value=2100)
    amount = forms.DecimalField(label=_l("Income (ten-thousand yuan)"), **MONEY)
    received_on = date(_l("Received on"))
    note = forms.CharField(label=_l("Note"), max_length=200, required=False)


class DisposalRequestForm(forms.Form):
    reason = must(forms.ChoiceField(label=_l("Reason for disposal"), choices=[("", _l("— choose —")), *DisposalReason.choices],
                                    required=False))
    note = forms.CharField(label=_l("Explanation"), widget=TEXT, required=False)


class DisposalAssessForm(forms.Form):
    value = forms.DecimalField(label=_l("Assessed value (ten-thousand yuan)"), **MONEY)
    assessor = must(forms.CharField(label=_l("Assessing body or assessor"), max_length=200, required=False))
    assessed_on = date(_l("Assessed on"))
    report = document(_l("Assessment report"))


class DisposalApproveForm(forms.Form):
    authority = must(forms.CharField(label=_l("Approving authority"), max_length=200, required=False))
    reference = must(forms.CharField(label=_l("Approval reference number"), max_length=200, required=False))
    approved_on = date(_l("Approved on"))
    document = document(_l("Approval document"))


class DisposalRejectForm(forms.Form):
    reason = must(forms.CharField(label=_l("Reason for rejecting"), widget=TEXT, required=False))


class DisposalExecuteForm(forms.Form):
    method = must(forms.ChoiceField(label=_l("Method of disposal"), choices=[("", _l("— choose —")), *DisposalMethod.choices],
                                    required=False))
    executed_on = date(_l("Executed on"))
    proceeds = forms.DecimalField(label=_l("Proceeds (ten-thousand yuan)"), initial=0, **MONEY)
    new_project = forms.CharField(label=_l("New poverty-alleviation project funded by the proceeds"), max_length=200, required=False)


# ---------------------------------------------------------------- village: distribution plan, notices


class PlanForm(forms.Form):
    year = forms.IntegerField(label=_l("Income year"), min_value=2000, max_value=2100)
    other_source = forms.CharField(label=_l("Other source of funds (required when distributing more than the year's recorded income)"), max_length=200, required=False)


class PlanItemForm(forms.Form):
    purpose = forms.ChoiceField(label=_l("Purpose"), choices=[("", "——"), *PlanPurpose.choices], required=False)
    amount = forms.DecimalField(label=_l("Amount (ten-thousand yuan)"), required=False, **MONEY)
    recipient = forms.CharField(label=_l("Recipient"), max_length=200, required=False)
    asset = forms.ChoiceField(label=_l("Source asset (equity dividends)"), required=False)

    def __init__(self, *args, assets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["asset"].choices = [("", "——"), *((a.pk, f"{a.code} {a.name}") for a in assets)]

    def clean(self):
        data = super().clean()
        if data.get("purpose") and data.get("amount") is None:
            self.add_error("amount", _("Fill in the amount."))
        return data


PlanItemFormSet = forms.formset_factory(PlanItemForm, extra=0, min_num=6, max_num=30)


class PlanDecideForm(forms.Form):
    meeting_on = date(_l("Date of the village meeting"))
    attendance = must(forms.IntegerField(label=_l("Attendance"), min_value=0, required=False))
    minutes = document(_l("Minutes"))


class PlanFileForm(forms.Form):
    department = forms.ModelChoiceField(label=_l("Line department filed with"), queryset=Department.objects.exclude(asset_types=[]))


class ReturnForm(forms.Form):
    reason = must(forms.CharField(label=_l("Reason for returning"), widget=TEXT, required=False))


class PlanPayForm(forms.Form):
    paid_on = date(_l("Paid on"))


class NoticeForm(forms.Form):
    """Posting (or re-posting) a list: where and for how long; what is posted is frozen by the service."""

    stage = forms.ChoiceField(label=_l("Publicity stage"))
    plan = forms.ChoiceField(label=_l("Income distribution plan"), required=False)
    disposal = forms.ChoiceField(label=_l("Disposal case"), required=False)
    scope = forms.ChoiceField(label=_l("Publicity scope"), choices=PublicityScope.choices)
    starts_on = date(_l("Publicity begins"))
    ends_on = date(_l("Publicity ends"))
    title = forms.CharField(label=_l("Title (optional)"), max_length=200, required=False)

    def __init__(self, *args, stages=(), plans=(), disposals=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = list(stages)
        self.fields["plan"].choices = [("", "——"), *((p.pk, _("Income distribution plan of %(year)s") % {"year": p.year}) for p in plans)]
        self.fields["disposal"].choices = [("", "——"), *((d.pk, f"{d.asset.code} {d.asset.name}") for d in disposals)]
        for name in ("stage", "plan", "disposal"):
            if len(self.fields[name].choices) <= 1 and name != "stage":
                del self.fields[name]


class PaperNoticeForm(NoticeForm):
    """A paper notice already posted on the board, entered afterwards: its photo and why it is entered late."""

    photo = document(_l("Photo or scan of the posted paper notice"))
    reason = must(forms.CharField(label=_l("Reason for entering it late (when and where it was posted, why it was not entered that day)"), widget=TEXT, required=False))


class ObjectionForm(forms.Form):
    raised_by = forms.CharField(label=_l("Raised by"), max_length=50)
    contact = forms.CharField(label=_l("Contact"), max_length=50, required=False)
    raised_on = date(_l("Raised on"))
    text = must(forms.CharField(label=_l("Objection"), widget=TEXT, required=False))


class AnswerForm(forms.Form):
    check_result = must(forms.CharField(label=_l("What the check found"), widget=TEXT, required=False))
    answer = must(forms.CharField(label=_l("Answer"), widget=TEXT, required=False))
