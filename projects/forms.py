"""Forms of the project pages. They only collect and type the input: every rule (who, bounds, uniqueness) is
projects.rules and projects.services, whose refusals the views put on the form."""

from django import forms
from django.utils.translation import gettext_lazy as _l

from geo_assets.models import AdminArea, Department
from geo_assets.taxonomy import AreaLevel, FundingSourceKind
from projects.taxonomy import LinkOrigin, ProjectKind, ProjectStatus


def _any(label):
    return [("", label)]


class ProjectFilterForm(forms.Form):
    """The list's filters (GET). A value that is not one of the choices is ignored, not an error page."""

    q = forms.CharField(label=_l("Code or name"), required=False, max_length=100)
    year = forms.IntegerField(label=_l("Year"), required=False, min_value=1990, max_value=2100)
    kind = forms.ChoiceField(label=_l("Kind"), required=False, choices=_any(_l("all kinds")) + ProjectKind.choices)
    status = forms.ChoiceField(label=_l("Status"), required=False,
                               choices=_any(_l("all statuses")) + ProjectStatus.choices)
    department = forms.ModelChoiceField(label=_l("Lead department"), required=False, queryset=Department.objects.none(),
                                        empty_label=_l("all departments"))
    township = forms.ModelChoiceField(label=_l("Township"), required=False, queryset=AdminArea.objects.none(),
                                      to_field_name="code", empty_label=_l("all townships"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.order_by("name")
        # the townships of the user's counties (another county's 城关镇 is no filter of theirs)
        self.fields["township"].queryset = (AdminArea.objects.filter(level=AreaLevel.TOWNSHIP).in_counties_of(user)
                                            .order_by("code"))

    def values(self) -> dict:
        """The valid filters (invalid ones dropped), as projects.selectors.project_list takes them."""
        self.is_valid()
        data = {name: value for name, value in getattr(self, "cleaned_data", {}).items() if name not in self.errors}
        return {"year": data.get("year"), "kind": data.get("kind", ""), "status": data.get("status", ""),
                "department": data.get("department"), "township": data.get("township"),
                "search": (data.get("q") or "").strip()}


class FundLineForm(forms.Form):
    """A fund line, new or corrected (`line`: the one corrected). Amounts are bounded by the service
    (geo_assets.validation.amount_check), which names the accepted range."""

    line = forms.IntegerField(required=False, widget=forms.HiddenInput)
    source = forms.ChoiceField(label=_l("Funding source"), choices=FundingSourceKind.choices)
    document_number = forms.CharField(label=_l("Document number"), required=False, max_length=100)
    year = forms.IntegerField(label=_l("Year allocated"))
    allocated = forms.DecimalField(label=_l("Allocated (10k yuan)"))
    disbursed = forms.DecimalField(label=_l("Disbursed (10k yuan)"), required=False)
    note = forms.CharField(label=_l("Note"), required=False, max_length=200)


class LinkForm(forms.Form):
    """Link an asset (by its code) to the project, with the amount the project put into it when known."""

    asset = forms.CharField(label=_l("Asset code"), max_length=40)
    amount = forms.DecimalField(label=_l("Amount contributed (10k yuan, optional)"), required=False)
    origin = forms.ChoiceField(choices=[(LinkOrigin.MANUAL, LinkOrigin.MANUAL.label),
                                        (LinkOrigin.SUGGESTION, LinkOrigin.SUGGESTION.label)],
                               initial=LinkOrigin.MANUAL, required=False, widget=forms.HiddenInput)
    next = forms.CharField(required=False, widget=forms.HiddenInput)
