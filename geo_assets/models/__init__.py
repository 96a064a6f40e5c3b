"""The register's models, in one app (label `geo_assets`): register.py (areas, departments, assets, funding,
owners, disposals, memberships) and lifecycle.py (the records of an asset's life after registration, whose rules and
pages are the lifecycle app's). Both are imported here so that Django finds them; tables and migrations are the
app's as before (geo_assets/README.md says why the lifecycle's models stay here)."""

from geo_assets.models.accounts import Session
from geo_assets.models.lifecycle import (
    Attachment,
    CustodianChange,
    DistributionItem,
    DistributionPlan,
    HandoverLetter,
    IncomeRecord,
    MaintenanceEntry,
    Objection,
    OperationContract,
    OwnershipRegistration,
    PublicityNotice,
    PublicWelfarePost,
)
from geo_assets.models.register import (
    GEOMETRY_COLUMNS,
    PIECE_CELL,
    PIECE_LEVELS,
    PIECE_MARGIN,
    SRID,
    WEB_SRID,
    AdminArea,
    AreaPiece,
    Asset,
    CountyBound,
    Department,
    Disposal,
    FundingLine,
    Membership,
    NoDeleteModel,
    OwnerShare,
)

__all__ = [
    "GEOMETRY_COLUMNS", "PIECE_CELL", "PIECE_LEVELS", "PIECE_MARGIN", "SRID", "WEB_SRID", "AdminArea", "AreaPiece", "Asset", "Attachment", "CountyBound", "CustodianChange", "Department",
    "Disposal", "DistributionItem", "DistributionPlan", "FundingLine", "HandoverLetter", "IncomeRecord",
    "MaintenanceEntry", "Membership", "NoDeleteModel", "Objection", "OperationContract", "OwnerShare",
    "OwnershipRegistration", "PublicWelfarePost", "PublicityNotice", "Session",
]
