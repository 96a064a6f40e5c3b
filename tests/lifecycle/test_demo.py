"""The demo county's lifecycle records (issue 9): every workflow at every stage, deterministic, loaded once."""

import pytest
from django.db import transaction
from django.test import Client

from geo_assets import demo
from geo_assets.models import (
    Asset,
    Disposal,
    DistributionPlan,
    HandoverLetter,
    IncomeRecord,
    MaintenanceEntry,
    Objection,
    OperationContract,
    OwnershipRegistration,
    PublicityNotice,
)
from geo_assets.taxonomy import DisposalStatus, PlanStatus, PublicityStage, RegistrationStep
from lifecycle import selectors
from lifecycle.demo import demo_lifecycle_load

SMALL = {"townships": 2, "villages_per_township": 3, "assets_per_village": 12}


class Rollback(Exception):
    pass


def fingerprint():
    return [
        sorted(OwnershipRegistration.objects.values_list("asset__code", "step")),
        sorted(HandoverLetter.objects.values_list("asset__code", "signed_on", "received_by")),
        sorted(MaintenanceEntry.objects.values_list("asset__code", "done_on", "kind", "cost")),
        sorted(OperationContract.objects.values_list("asset__code", "number", "starts_on", "ends_on", "yearly_due")),
        sorted(IncomeRecord.objects.values_list("asset__code", "year", "amount")),
        sorted(DistributionPlan.objects.values_list("village__code", "year", "status", "total")),
        sorted(Disposal.objects.values_list("asset__code", "status", "approval_reference")),
        sorted(PublicityNotice.objects.values_list("stage", "area__code", "starts_on", "title")),
    ]


@pytest.mark.django_db
def test_demo_lifecycle_has_every_stage_and_is_deterministic(admin_user):
    with pytest.raises(Rollback), transaction.atomic():
        demo.demo_load(actor=admin_user, **SMALL)
        demo_lifecycle_load(actor=admin_user)
        first = fingerprint()
        raise Rollback
    demo.demo_load(actor=admin_user, **SMALL)
    created = demo_lifecycle_load(actor=admin_user)
    assert fingerprint() == first
    assert created["plans"] == 6 and created["disposals"] == 5

    assert set(OwnershipRegistration.objects.values_list("step", flat=True)) == set(RegistrationStep.values)
    letters = HandoverLetter.objects.all()
    assert letters.count() >= 4
    for letter in letters:
        scan = selectors.attachments_of(letter).get()
        assert scan.mime == "application/pdf" and scan.file.read(5) == b"%PDF-"
    assert any(selectors.attachments_of(e).exists() for e in MaintenanceEntry.objects.all())
    warnings = {w.code for w in selectors.contract_warnings(assets=Asset.objects.all())}
    assert warnings == {"contract_ending", "contract_expired"}
    assert OperationContract.objects.filter(renews__isnull=False).exists()
    assert IncomeRecord.objects.exists()
    assert set(DistributionPlan.objects.values_list("status", flat=True)) == set(PlanStatus.values)
    publicised = DistributionPlan.objects.get(status=PlanStatus.PUBLICISED)
    assert Objection.objects.filter(notice__plan=publicised, answered_at__isnull=False).exists()
    assert DistributionPlan.objects.get(status=PlanStatus.PAID).paid_on
    lifecycle_steps = {DisposalStatus.REQUESTED, DisposalStatus.ASSESSED, DisposalStatus.APPROVED,
                       DisposalStatus.REJECTED, DisposalStatus.EXECUTED}
    assert lifecycle_steps <= set(Disposal.objects.values_list("status", flat=True))
    assert set(PublicityNotice.objects.values_list("stage", flat=True)) == set(PublicityStage.values)
    assert PublicityNotice.objects.filter(reposts__isnull=False).exists()
    assert Objection.objects.filter(answered_at__isnull=True).exists()

    todo = selectors.todo_for(admin_user)
    assert {"ownership_to_confirm", "disposals_to_assess", "disposals_to_approve", "disposals_to_execute",
            "plans_to_review", "plans_to_file", "objections_to_answer", "contracts"} <= set(todo)
    client = Client()
    client.force_login(admin_user)
    assert "待审批的处置" in client.get("/todo/").content.decode()

    assert demo_lifecycle_load(actor=admin_user) == {}  # loaded once
    assert fingerprint() == first


@pytest.mark.django_db
def test_load_demo_lifecycle_command_after_load_demo_only():
    """The lifecycle's own command (geo_assets' load_demo no longer imports the lifecycle): without the demo
    administrator it loads nothing and says so."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("load_demo_lifecycle", stdout=out)
    assert "load_demo" in out.getvalue() and not PublicityNotice.objects.exists()
