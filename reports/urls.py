"""Routes of the reports app (issue 10), included by config/urls.py."""

from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("reports/", views.index, name="index"),
    path("reports/villages/<str:code>/", views.village_report, name="village"),
    path("reports/villages/<str:code>.pdf", views.village_report, {"fmt": "pdf"}, name="village-pdf"),
    path("reports/villages/<str:code>.xlsx", views.village_report, {"fmt": "xlsx"}, name="village-xlsx"),
    path("reports/townships/<str:code>/", views.township_report, name="township"),
    path("reports/townships/<str:code>.pdf", views.township_report, {"fmt": "pdf"}, name="township-pdf"),
    path("reports/townships/<str:code>.xlsx", views.township_report, {"fmt": "xlsx"}, name="township-xlsx"),
    path("reports/county/", views.county_report, name="county"),
    path("reports/county.pdf", views.county_report, {"fmt": "pdf"}, name="county-pdf"),
    path("reports/county.xlsx", views.county_report, {"fmt": "xlsx"}, name="county-xlsx"),
    path("reports/oversight/", views.oversight_report, name="oversight"),
    path("reports/oversight.pdf", views.oversight_report, {"fmt": "pdf"}, name="oversight-pdf"),
    path("reports/oversight.xlsx", views.oversight_report, {"fmt": "xlsx"}, name="oversight-xlsx"),
    path("reports/departments/<int:pk>/", views.department_report, name="department"),
    path("reports/departments/<int:pk>.pdf", views.department_report, {"fmt": "pdf"}, name="department-pdf"),
    path("reports/departments/<int:pk>.xlsx", views.department_report, {"fmt": "xlsx"}, name="department-xlsx"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/progress.geojson", views.dashboard_geojson, name="dashboard-geojson"),
    path("dashboard/progress.<str:fmt>", views.dashboard_export, name="dashboard-export"),
    path("alerts/", views.alerts_page, name="alerts"),
    path("alerts.geojson", views.alerts_geojson, name="alerts-geojson"),
    path("public/villages/<str:code>/", views.public_village, name="public-village"),
    # 账账相符 and the annual ledgers (issue 17)
    path("reconciliation/", views.reconciliation_page, name="reconciliation"),
    path("reconciliation.xlsx", views.reconciliation_page, {"fmt": "xlsx"}, name="reconciliation-xlsx"),
    path("reconciliation.pdf", views.reconciliation_page, {"fmt": "pdf"}, name="reconciliation-pdf"),
    path("api/v1/reconciliation/", views.ReconciliationApi.as_view(), name="api-reconciliation"),
    path("reports/ledgers/", views.ledgers_index, name="ledgers"),
    path("reports/ledgers/county/<int:year>/", views.county_ledger, name="county-ledger"),
    path("reports/ledgers/county/<int:year>.pdf", views.county_ledger, {"fmt": "pdf"}, name="county-ledger-pdf"),
    path("reports/ledgers/county/<int:year>.xlsx", views.county_ledger, {"fmt": "xlsx"}, name="county-ledger-xlsx"),
    path("reports/ledgers/townships/<str:code>/<int:year>/", views.township_ledger, name="township-ledger"),
    path("reports/ledgers/townships/<str:code>/<int:year>.pdf", views.township_ledger, {"fmt": "pdf"},
         name="township-ledger-pdf"),
    path("reports/ledgers/townships/<str:code>/<int:year>.xlsx", views.township_ledger, {"fmt": "xlsx"},
         name="township-ledger-xlsx"),
    path("reports/ledgers/villages/<str:code>/<int:year>/", views.village_ledger, name="village-ledger"),
    path("reports/ledgers/villages/<str:code>/<int:year>.pdf", views.village_ledger, {"fmt": "pdf"},
         name="village-ledger-pdf"),
    path("reports/ledgers/villages/<str:code>/<int:year>.xlsx", views.village_ledger, {"fmt": "xlsx"},
         name="village-ledger-xlsx"),
    path("public/villages/<str:code>/ledger/<int:year>/", views.public_village_ledger, name="public-village-ledger"),
    path("public/villages/<str:code>/ledger/<int:year>.pdf", views.public_village_ledger, {"fmt": "pdf"},
         name="public-village-ledger-pdf"),
]
