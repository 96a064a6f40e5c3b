"""Forms of the lifecycle pages (issue 9). They only collect and type the input; every rule (who, in which order,
which documents) is checked by lifecycle.services and lifecycle.rules, whose refusals the views put on the form."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from geo_assets.models import Department, OperationContract
from geo_assets.taxonomy import DisposalMethod, DisposalReason, MaintenanceKind, PlanPurpose, PublicityScope

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TEXT = forms.Textarea(attrs={"rows": 3})
ACCEPT = ".pdf,.jpg,.jpeg,.png,.heic,.docx,.xlsx"
MONEY = {"max_digits": 14, "decimal_places": 4, "min_value": 0}


def within_limit(upload) -> None:
    limit = settings.ATTACHMENT_MAX_BYTES
    if upload is not None and upload.size > limit:
        raise ValidationError(f"附件“{upload.name}”太大（{upload.size / 1024**2:.1f} MB），上限 {limit / 1024**2:.0f} MB。")


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


class OwnershipDecideForm(forms.Form):
    confirm = forms.TypedChoiceField(label="审核结果", choices=[("1", "确认"), ("0", "退回")], coerce=lambda v: v == "1",
                                     widget=forms.RadioSelect, initial="1")
    comment = forms.CharField(label="意见（退回时必填）", required=False, widget=TEXT)


class HandoverForm(forms.Form):
    signed_on = date("签署日期")
    handed_over_by = forms.CharField(label="移交方", max_length=200)
    received_by = forms.CharField(label="接收方", max_length=200)
    custodian = forms.CharField(label="管护责任方", max_length=200)
    scan = document("已签署的责任书扫描件")


class MaintenanceForm(forms.Form):
    done_on = date("日期")
    kind = forms.ChoiceField(label="管护类型", choices=MaintenanceKind.choices)
    cost = forms.DecimalField(label="费用（万元）", initial=0, **MONEY)
    done_by = forms.CharField(label="实施人或单位", max_length=200)
    description = forms.CharField(label="管护内容", widget=TEXT)
    photos = MultipleFileField(label="现场照片（可多张）")


class CustodianForm(forms.Form):
    effective_on = date("生效日期")
    unit = forms.CharField(label="新管护单位", max_length=200)
    person = forms.CharField(label="管护责任人", max_length=50, required=False)
    phone = forms.CharField(label="联系电话", max_length=20, required=False)


class WelfarePostForm(forms.Form):
    holder = forms.CharField(label="岗位人员", max_length=50)
    from_poor_household = forms.BooleanField(label="来自脱贫（监测）户", required=False, initial=True)
    starts_on = date("开始日期")
    ends_on = date("结束日期", required=False)
    monthly_pay = forms.DecimalField(label="月报酬（元）", max_digits=10, decimal_places=2, min_value=0)


class ContractForm(forms.Form):
    operator = forms.CharField(label="经营主体", max_length=200)
    number = forms.CharField(label="合同编号", max_length=100)
    starts_on = date("开始日期")
    ends_on = date("结束日期")
    yearly_due = forms.DecimalField(label="年租金或应交收益（万元）", **MONEY)
    mechanism = must(forms.CharField(label="带贫减贫机制", widget=TEXT, required=False))
    risk_clauses = forms.CharField(label="风险防控条款", widget=TEXT, required=False)
    renews = forms.ModelChoiceField(label="续签的原合同", queryset=OperationContract.objects.none(), required=False,
                                    empty_label="（新签，不是续签）")
    scan = document("合同扫描件", required=False)

    def __init__(self, *args, asset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["renews"].queryset = asset.contracts.filter(renewed_by__isnull=True)
        self.fields["renews"].label_from_instance = lambda c: f"{c.number}（{c.operator}，至 {c.ends_on}）"


class IncomeForm(forms.Form):
    year = forms.IntegerField(label="收益年度", min_value=2000, max_value=2100)
    amount = forms.DecimalField(label="收益金额（万元）", **MONEY)
    received_on = date("到账日期")
    note = forms.CharField(label="备注", max_length=200, required=False)


class DisposalRequestForm(forms.Form):
    reason = must(forms.ChoiceField(label="处置原因", choices=[("", "——请选择——"), *DisposalReason.choices],
                                    required=False))
    note = forms.CharField(label="情况说明", widget=TEXT, required=False)


class DisposalAssessForm(forms.Form):
    value = forms.DecimalField(label="评估价值（万元）", **MONEY)
    assessor = must(forms.CharField(label="评估机构或评估人", max_length=200, required=False))
    assessed_on = date("评估日期")
    report = document("评估报告")


class DisposalApproveForm(forms.Form):
    authority = must(forms.CharField(label="审批机关", max_length=200, required=False))
    reference = must(forms.CharField(label="批复文号", max_length=200, required=False))
    approved_on = date("批复日期")
    document = document("批复文件")


class DisposalRejectForm(forms.Form):
    reason = must(forms.CharField(label="驳回理由", widget=TEXT, required=False))


class DisposalExecuteForm(forms.Form):
    method = must(forms.ChoiceField(label="处置方式", choices=[("", "——请选择——"), *DisposalMethod.choices],
                                    required=False))
    executed_on = date("执行日期")
    proceeds = forms.DecimalField(label="处置收入（万元）", initial=0, **MONEY)
    new_project = forms.CharField(label="处置收入用于的新扶贫项目", max_length=200, required=False)


# ---------------------------------------------------------------- village: distribution plan, notices


class PlanForm(forms.Form):
    year = forms.IntegerField(label="收益年度", min_value=2000, max_value=2100)
    other_source = forms.CharField(label="其他资金来源（分配超过当年记录的收益时必填）", max_length=200, required=False)


class PlanItemForm(forms.Form):
    purpose = forms.ChoiceField(label="用途", choices=[("", "——"), *PlanPurpose.choices], required=False)
    amount = forms.DecimalField(label="金额（万元）", required=False, **MONEY)
    recipient = forms.CharField(label="对象", max_length=200, required=False)
    asset = forms.ChoiceField(label="来源资产（股权分红）", required=False)

    def __init__(self, *args, assets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["asset"].choices = [("", "——"), *((a.pk, f"{a.code} {a.name}") for a in assets)]

    def clean(self):
        data = super().clean()
        if data.get("purpose") and data.get("amount") is None:
            self.add_error("amount", "请填写金额。")
        return data


PlanItemFormSet = forms.formset_factory(PlanItemForm, extra=0, min_num=6, max_num=30)


class PlanDecideForm(forms.Form):
    meeting_on = date("村民会议日期")
    attendance = must(forms.IntegerField(label="参会人数", min_value=0, required=False))
    minutes = document("会议记录")


class PlanFileForm(forms.Form):
    department = forms.ModelChoiceField(label="备案的行业部门", queryset=Department.objects.exclude(asset_types=[]))


class ReturnForm(forms.Form):
    reason = must(forms.CharField(label="退回理由", widget=TEXT, required=False))


class PlanPayForm(forms.Form):
    paid_on = date("兑付日期")


class NoticeForm(forms.Form):
    """Posting (or re-posting) a list: where and for how long; what is posted is frozen by the service."""

    stage = forms.ChoiceField(label="公示环节")
    plan = forms.ChoiceField(label="收益分配方案", required=False)
    disposal = forms.ChoiceField(label="处置事项", required=False)
    scope = forms.ChoiceField(label="公示范围", choices=PublicityScope.choices)
    starts_on = date("公示开始")
    ends_on = date("公示结束")
    title = forms.CharField(label="标题（可不填）", max_length=200, required=False)

    def __init__(self, *args, stages=(), plans=(), disposals=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = list(stages)
        self.fields["plan"].choices = [("", "——"), *((p.pk, f"{p.year} 年度收益分配方案") for p in plans)]
        self.fields["disposal"].choices = [("", "——"), *((d.pk, f"{d.asset.code} {d.asset.name}") for d in disposals)]
        for name in ("stage", "plan", "disposal"):
            if len(self.fields[name].choices) <= 1 and name != "stage":
                del self.fields[name]


class PaperNoticeForm(NoticeForm):
    """A paper notice already posted on the board, entered afterwards: its photo and why it is entered late."""

    photo = document("张贴的纸质公示照片或扫描件")
    reason = must(forms.CharField(label="补录原因（何时在何处张贴，为何未在当天登记）", widget=TEXT, required=False))


class ObjectionForm(forms.Form):
    raised_by = forms.CharField(label="提出人", max_length=50)
    contact = forms.CharField(label="联系方式", max_length=50, required=False)
    raised_on = date("提出日期")
    text = must(forms.CharField(label="异议内容", widget=TEXT, required=False))


class AnswerForm(forms.Form):
    check_result = must(forms.CharField(label="核实情况", widget=TEXT, required=False))
    answer = must(forms.CharField(label="答复", widget=TEXT, required=False))
