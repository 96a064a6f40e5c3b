from django.urls import path

from importers import views

app_name = "importers"

urlpatterns = [
    path("", views.upload, name="upload"),
    path("export/", views.export, name="export"),
    path("template.xlsx", views.template_download, name="template"),
    path("template/<str:kind>.xlsx", views.template_download, name="template_kind"),
    path("jobs/<uuid:pk>/", views.job_detail, name="job"),
    path("jobs/<uuid:pk>/status/", views.job_status, name="job_status"),
    path("jobs/<uuid:pk>/preview.geojson", views.job_preview, name="job_preview"),
    path("jobs/<uuid:pk>/confirm/", views.job_confirm, name="job_confirm"),
    path("jobs/<uuid:pk>/cancel/", views.job_cancel, name="job_cancel"),
]
