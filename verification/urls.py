from django.urls import path

from verification import api, views

app_name = "verification"

urlpatterns = [
    path("api/v1/verifications/", api.VerificationListCreate.as_view(), name="api-list"),
    path("api/v1/verifications/nearby/", api.NearbyView.as_view(), name="api-nearby"),
    path("field/photos/<int:pk>/<str:variant>", views.photo_file, name="photo"),
]
