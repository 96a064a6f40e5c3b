from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from layers import views

app_name = "layers"

urlpatterns = [
    path("tiles/<str:layer>/<int:z>/<int:x>/<int:y>.mvt", views.TileView.as_view(), name="tile"),
    path("api/v1/layers/", views.RegistryView.as_view(), name="registry"),
    path("api/v1/assets/", views.AssetListView.as_view(), name="asset-list"),
    path("api/v1/assets/<str:code>/", views.AssetDetailView.as_view(), name="asset-detail"),
    path("api/v1/areas/", views.AreaListView.as_view(), name="area-list"),
    path("api/v1/areas/<str:code>/", views.AreaDetailView.as_view(), name="area-detail"),
    path("api/v1/areas/<str:code>/summary/", views.AreaSummaryView.as_view(), name="area-summary"),
    path("api/v1/search/", views.SearchView.as_view(), name="search"),
    path("api/v1/map/clusters/", views.ViewClustersView.as_view(), name="map-clusters"),
    path("api/v1/map/projects/", views.MapProjectsView.as_view(), name="map-projects"),
    path("api/v1/map/projects/<str:code>/", views.MapProjectView.as_view(), name="map-project"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    # for desktop GIS (QGIS, GDAL): TileJSON of each tile layer and one style of them all (layers.tilejson)
    path("tiles/style.json", views.StyleView.as_view(), name="style"),
    path("tiles/<str:layer>.json", views.TileJsonView.as_view(), name="tilejson"),
]

# OGC API – Features (layers/views_ogc.py, layers/ogc.py)
from layers import views_ogc  # noqa: E402

urlpatterns += [
    path("ogc/", views_ogc.LandingView.as_view(), name="ogc-landing"),
    path("ogc/conformance", views_ogc.ConformanceView.as_view(), name="ogc-conformance"),
    path("ogc/api", views_ogc.ApiView.as_view(), name="ogc-api"),
    path("ogc/collections", views_ogc.CollectionsView.as_view(), name="ogc-collections"),
    path("ogc/collections/<str:collection_id>", views_ogc.CollectionView.as_view(), name="ogc-collection"),
    path("ogc/collections/<str:collection_id>/queryables", views_ogc.QueryablesView.as_view(),
         name="ogc-queryables"),
    path("ogc/collections/<str:collection_id>/items", views_ogc.ItemsView.as_view(), name="ogc-items"),
    path("ogc/collections/<str:collection_id>/items/<str:feature_id>", views_ogc.ItemView.as_view(),
         name="ogc-item"),
]
