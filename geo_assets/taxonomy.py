"""The register's fixed vocabularies, from the county work plan (DESIGN.md §2)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AreaLevel(models.TextChoices):
    PROVINCE = "province", _("province")
    PREFECTURE = "prefecture", _("prefecture")
    COUNTY = "county", _("county")
    TOWNSHIP = "township", _("township")
    VILLAGE = "village", _("village")


# Levels with no parent required: a county may be loaded without its prefecture, a prefecture without its province.
TOP_LEVELS = (AreaLevel.PROVINCE, AreaLevel.PREFECTURE, AreaLevel.COUNTY)
# The parent level of each level below the province.
PARENT_LEVEL = {AreaLevel.PREFECTURE: AreaLevel.PROVINCE, AreaLevel.COUNTY: AreaLevel.PREFECTURE,
                AreaLevel.TOWNSHIP: AreaLevel.COUNTY, AreaLevel.VILLAGE: AreaLevel.TOWNSHIP}


def level_of_code(code: str) -> str:
    """The level of a 12-digit national administrative division code (统计用区划代码): PP CC DD TTT VVV, the
    lower parts zero above the level."""
    if code[9:12] != "000":
        return AreaLevel.VILLAGE
    if code[6:9] != "000":
        return AreaLevel.TOWNSHIP
    if code[4:6] != "00":
        return AreaLevel.COUNTY
    if code[2:4] != "00":
        return AreaLevel.PREFECTURE
    return AreaLevel.PROVINCE


def county_code_of(code: str) -> str | None:
    """The code of the county an area code lies in (itself for a county); None above the county level."""
    return code[:6] + "000000" if code[4:6] != "00" else None


class Category(models.TextChoices):
    PUBLIC_WELFARE = "public_welfare", _("public-welfare asset")
    OPERATING = "operating", _("operating asset")
    HOUSEHOLD = "household", _("household asset")


class AssetType(models.TextChoices):
    ROAD = "road", _("roads and transport")
    IRRIGATION = "irrigation", _("farmland irrigation")
    WATER_SUPPLY = "water_supply", _("drinking water supply")
    SANITATION = "sanitation", _("sanitation and public toilets")
    POWER = "power", _("power facilities")
    EDUCATION = "education", _("education")
    CULTURE = "culture", _("culture")
    SPORTS = "sports", _("sports")
    HEALTH = "health", _("health")
    GREENHOUSE = "greenhouse", _("facility agriculture")
    PLANTATION = "plantation", _("planting and breeding base")
    PROCESSING = "processing", _("production and processing")
    TOURISM = "tourism", _("tourism services")
    WORKSHOP = "workshop", _("poverty-alleviation workshop")
    ECOMMERCE = "ecommerce", _("e-commerce services")
    PV_STATION = "pv_station", _("photovoltaic station")
    EQUITY = "equity", _("equity stake")
    DEBT = "debt", _("debt claim")
    LIVESTOCK = "livestock", _("biological asset")
    HOUSEHOLD_FIXED = "household_fixed", _("household fixed asset")


CATEGORY_TYPES: dict[str, tuple[str, ...]] = {
    Category.PUBLIC_WELFARE: (
        AssetType.ROAD, AssetType.IRRIGATION, AssetType.WATER_SUPPLY, AssetType.SANITATION, AssetType.POWER,
        AssetType.EDUCATION, AssetType.CULTURE, AssetType.SPORTS, AssetType.HEALTH,
    ),
    Category.OPERATING: (
        AssetType.GREENHOUSE, AssetType.PLANTATION, AssetType.PROCESSING, AssetType.TOURISM, AssetType.WORKSHOP,
        AssetType.ECOMMERCE, AssetType.PV_STATION, AssetType.EQUITY, AssetType.DEBT,
    ),
    Category.HOUSEHOLD: (AssetType.LIVESTOCK, AssetType.HOUSEHOLD_FIXED),
}
TYPE_CATEGORY: dict[str, str] = {t: c for c, types in CATEGORY_TYPES.items() for t in types}


class AssetStatus(models.TextChoices):
    UNDER_CONSTRUCTION = "under_construction", _("under construction")
    IN_USE = "in_use", _("in use")
    IDLE = "idle", _("idle")
    DAMAGED = "damaged", _("damaged")
    DISPOSED = "disposed", _("disposed")


class OwnerKind(models.TextChoices):
    VILLAGE_COLLECTIVE = "village_collective", _("village collective")
    TOWNSHIP = "township", _("township government")
    STATE = "state", _("line department / state-owned")
    HOUSEHOLD = "household", _("beneficiary household")
    ENTERPRISE = "enterprise", _("cooperative or enterprise shareholders")


# Default owner by kind of asset (work plan 二(四)): household projects belong to the beneficiary;
# village roads, water, culture squares, PV and collective economy to the village; workshops and
# cross-village projects to the township; school and clinic assets follow the education/health rules.
DEFAULT_OWNER_KIND: dict[str, str] = {
    AssetType.LIVESTOCK: OwnerKind.HOUSEHOLD,
    AssetType.HOUSEHOLD_FIXED: OwnerKind.HOUSEHOLD,
    AssetType.ROAD: OwnerKind.VILLAGE_COLLECTIVE,
    AssetType.IRRIGATION: OwnerKind.VILLAGE_COLLECTIVE,
    AssetType.WATER_SUPPLY: OwnerKind.VILLAGE_COLLECTIVE,
    AssetType.SANITATION: OwnerKind.VILLAGE_COLLECTIVE,
    AssetType.POWER: OwnerKind.VILLAGE_COLLECTIVE,
    AssetType.CULTURE: OwnerKind.VILLAGE_COLLECTIVE,
    AssetType.SPORTS: OwnerKind.VILLAGE_COLLECTIVE,
    AssetType.PV_STATION: OwnerKind.VILLAGE_COLLECTIVE,
    AssetType.GREENHOUSE: OwnerKind.VILLAGE_COLLECTIVE,
    AssetType.PLANTATION: OwnerKind.VILLAGE_COLLECTIVE,
    AssetType.PROCESSING: OwnerKind.VILLAGE_COLLECTIVE,
    AssetType.TOURISM: OwnerKind.VILLAGE_COLLECTIVE,
    AssetType.ECOMMERCE: OwnerKind.VILLAGE_COLLECTIVE,
    AssetType.WORKSHOP: OwnerKind.TOWNSHIP,
    AssetType.EDUCATION: OwnerKind.STATE,
    AssetType.HEALTH: OwnerKind.STATE,
    AssetType.EQUITY: OwnerKind.ENTERPRISE,
    AssetType.DEBT: OwnerKind.ENTERPRISE,
}
# Equity and debt must name every owner and share (work plan 二(四)).
TYPES_REQUIRING_NAMED_SHARES = frozenset({AssetType.EQUITY, AssetType.DEBT})


class RegistrationStatus(models.TextChoices):
    UNREGISTERED = "unregistered", _("not registered")
    REGISTERED = "registered", _("registered")


class CustodyMethod(models.TextChoices):
    PUBLIC_POST = "public_post", _("public-welfare post")
    CONTRACT = "contract", _("contract")
    PURCHASED_SERVICE = "purchased_service", _("purchased service")
    SELF = "self", _("self-managed")


class FundingSourceKind(models.TextChoices):
    CENTRAL = "central", _("special poverty funds (central)")
    PROVINCIAL = "provincial", _("special poverty funds (provincial)")
    MUNICIPAL = "municipal", _("special poverty funds (municipal)")
    COUNTY = "county", _("special poverty funds (county)")
    # The work plan says 各级财政专项扶贫资金: ledgers often do not name the level.
    SPECIAL_UNSTATED = "special", _("special poverty funds (level not stated)")
    INTEGRATED = "integrated", _("integrated agricultural funds")
    SOCIAL = "social", _("social poverty-alleviation funds")
    DONATION = "donation", _("donations")
    SECTOR = "sector", _("sector poverty-alleviation funds")
    OTHER = "other", _("other funds")


# Money that forms no register asset (work plan 二(一)(二)); importers refuse it by these names (ledger words: data).
OUT_OF_SCOPE_FUNDING = ("贴息", "保险", "风险保证金", "补贴", "易地扶贫搬迁", "易地搬迁")  # i18n: data


# The line departments the work plan names (二(三), 三, 四(二)) and the asset types each one inventories.
# Created by migration 0006 (a copy of this table: migrations must not import code that may change) on every
# installation, editable afterwards in the admin: their names are records (data, Chinese in either language). A
# department of funds or people rather than asset types (财政局: the funds ledgers; 残联: disability-care centres,
# which have no asset type of their own) manages none.
WORK_PLAN_DEPARTMENTS: dict[str, tuple[str, ...]] = {
    # social funds, donations and the projects it led: workshops, e-commerce, tourism, equity and debt
    "扶贫办": (AssetType.WORKSHOP, AssetType.ECOMMERCE, AssetType.TOURISM, AssetType.EQUITY, AssetType.DEBT),  # i18n: data
    "财政局": (),  # i18n: data
    "发改委": (AssetType.PV_STATION, AssetType.POWER),  # 光伏扶贫 (and relocation, out of scope)  # i18n: data
    "教体局": (AssetType.EDUCATION, AssetType.SPORTS),  # i18n: data
    "住建局": (AssetType.SANITATION,),  # 危房改造 forms no register asset; rural sanitation works  # i18n: data
    "交通运输局": (AssetType.ROAD,),  # 村组道路  # i18n: data
    "水利局": (AssetType.WATER_SUPPLY, AssetType.IRRIGATION),  # 农村饮水安全, 农田水利  # i18n: data
    "农业农村局": (AssetType.GREENHOUSE, AssetType.PLANTATION, AssetType.PROCESSING, AssetType.LIVESTOCK,  # i18n: data
                   AssetType.HOUSEHOLD_FIXED),  # 产业扶贫, 到户增收
    "林业局": (AssetType.PLANTATION,),  # 农林业产业基地  # i18n: data
    "文广新局": (AssetType.CULTURE, AssetType.TOURISM),  # 文化广场, 文化类“七个一”, 文化和旅游  # i18n: data
    "卫健委": (AssetType.HEALTH,),  # 村卫生室  # i18n: data
    "残联": (),  # 残疾人托养中心, 扶贫助残项目  # i18n: data
}


class Role(models.TextChoices):
    COUNTY_ADMIN = "county_admin", _("county administrator")
    DEPARTMENT = "department", _("line department")
    TOWNSHIP = "township", _("township clerk")
    VILLAGE = "village", _("village clerk")
    INSPECTOR = "inspector", _("inspector")
    FINANCE = "finance", _("finance bureau")
    PREFECTURE = "prefecture", _("prefecture bureau (oversight)")
    PROVINCE = "province", _("province bureau (oversight)")
    PUBLIC = "public", _("public")


# Bodies of one county: every membership of these roles belongs to exactly one county (Membership.county).
COUNTY_ROLES = frozenset({"county_admin", "department", "township", "village", "inspector", "finance"})
# The prefecture's and province's rural-revitalisation bureaus: read and report on every county below their area.
OVERSIGHT_ROLES = frozenset({"prefecture", "province"})
OVERSIGHT_LEVEL = {"prefecture": "prefecture", "province": "province"}


class DisposalMethod(models.TextChoices):
    AUCTION = "auction", _("auction")
    TRANSFER = "transfer", _("transfer")
    SCRAP = "scrap", _("scrapping")
    RECOVERY = "recovery", _("recovery at contract end")
    RENEWAL = "renewal", _("contract renewed")


# ---- asset lifecycle (work plan 二(四)–(八), 三): custody, operation, income, disposal, publicity


class DisposalReason(models.TextChoices):
    POOR_OPERATION = "poor_operation", _("operating poorly")
    UNUSABLE = "unusable", _("cannot be used")
    END_OF_LIFE = "end_of_life", _("service life reached")
    CONTRACT_END = "contract_end", _("contract ended")


class DisposalStatus(models.TextChoices):
    REQUESTED = "requested", _("requested")
    ASSESSED = "assessed", _("assessed")
    APPROVED = "approved", _("approved")
    EXECUTED = "executed", _("executed")
    REJECTED = "rejected", _("rejected")


class MaintenanceKind(models.TextChoices):
    ROUTINE = "routine", _("routine maintenance")
    REPAIR = "repair", _("repair")
    RENEWAL = "renewal", _("renewal")


class PlanStatus(models.TextChoices):
    DRAFTED = "drafted", _("drafted")
    DECIDED = "decided", _("decided by the village meeting")
    REVIEWED = "reviewed", _("reviewed by the township")
    FILED = "filed", _("filed with the department")
    PUBLICISED = "publicised", _("publicised")
    PAID = "paid", _("paid out")


PLAN_ORDER = [PlanStatus.DRAFTED, PlanStatus.DECIDED, PlanStatus.REVIEWED, PlanStatus.FILED, PlanStatus.PUBLICISED,
              PlanStatus.PAID]


class PlanPurpose(models.TextChoices):
    COLLECTIVE = "collective", _("village collective economy")
    PUBLIC_WELFARE = "public_welfare", _("public-welfare undertakings")
    POSTS = "posts", _("public-welfare posts")
    NO_LABOUR = "no_labour", _("support to households without labour capacity")
    CASH = "cash", _("cash handed out to households")
    EQUITY_OWNERS = "equity_owners", _("shares owed to equity owners")
    OTHER = "other", _("other")


class PublicityStage(models.TextChoices):
    INVENTORY = "inventory", _("inventory ledger")
    OWNERSHIP = "ownership", _("ownership registration")
    INCOME_PLAN = "income_plan", _("income distribution plan")
    DISPOSAL = "disposal", _("disposal")


class PublicityScope(models.TextChoices):
    VILLAGE_BOARD = "village_board", _("village notice board")
    TOWNSHIP = "township", _("township")
    COUNTY_WEBSITE = "county_website", _("county government website")


class RegistrationStep(models.TextChoices):
    SUBMITTED = "submitted", _("submitted for confirmation")
    CONFIRMED = "confirmed", _("confirmed")
    RETURNED = "returned", _("returned for correction")
