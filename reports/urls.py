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
    path("reports/departments/<int:pk>/", views.department_report, name="department"),
    path("reports/departments/<int:pk>.pdf", views.department_report, {"fmt": "pdf"}, name="department-pdf"),
    path("reports/departments/<int:pk>.xlsx", views.department_report, {"fmt": "xlsx"}, name="department-xlsx"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/progress.geojson", views.dashboard_geojson, name="dashboard-geojson"),
    path("dashboard/progress.<str:fmt>", views.dashboard_export, name="dashboard-export"),
    path("alerts/", views.alerts_page, name="alerts"),
    path("alerts.geojson", views.alerts_geojson, name="alerts-geojson"),
    path("public/villages/<str:code>/", views.public_village, name="public-village"),
]
