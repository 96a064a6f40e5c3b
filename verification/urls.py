from django.urls import path

from verification import api, views, views_field, views_office

app_name = "verification"

urlpatterns = [
    path("api/v1/verifications/", api.VerificationListCreate.as_view(), name="api-list"),
    path("api/v1/verifications/nearby/", api.NearbyView.as_view(), name="api-nearby"),
    path("field/photos/<int:pk>/<str:variant>", views.photo_file, name="photo"),
    path("field/", views_field.field_home, name="field"),
    path("field/assets/<str:code>/", views_field.field_asset, name="field-asset"),
    path("field/package/<str:code>.json", views_field.field_package, name="field-package"),
    path("field/sw.js", views_field.service_worker, name="field-sw"),
    path("field/manifest.webmanifest", views_field.manifest, name="field-manifest"),
    path("v/<str:code>/", views_field.qr_landing, name="qr"),
    path("verification/labels/", views_office.labels, name="labels"),
    path("verification/labels/sheets/<int:pk>/", views_office.label_sheet, name="label-sheet"),
    path("verification/labels/sheets/<int:pk>/labels.pdf", views_office.label_sheet_pdf, name="label-sheet-pdf"),
    path("verification/campaigns/", views_office.campaign_list, name="campaigns"),
    path("verification/campaigns/new/", views_office.campaign_create, name="campaign-create"),
    path("verification/campaigns/<int:pk>/", views_office.campaign_detail, name="campaign"),
    path("verification/campaigns/<int:pk>/assign/", views_office.campaign_assign, name="campaign-assign"),
    path("verification/campaigns/<int:pk>/progress.geojson", views_office.campaign_progress_geojson,
         name="campaign-geojson"),
    path("verification/campaigns/<int:pk>/progress.<str:fmt>", views_office.campaign_export, name="campaign-export"),
    path("verification/review/", views_office.review_queue, name="review"),
    path("verification/review/<int:pk>/", views_office.review_decide, name="review-decide"),
    path("verification/problems/", views_office.problems, name="problems"),
]
