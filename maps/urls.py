from django.urls import path

from maps import views

app_name = "maps"

urlpatterns = [
    path("", views.map_page, name="map"),
    path("assets/<str:code>/", views.asset_page, name="asset"),
    path("villages/<str:code>/", views.village_page, name="village"),
    path("basemap/<int:z>/<int:x>/<int:y>.png", views.basemap_tile, name="basemap-tile"),
]
