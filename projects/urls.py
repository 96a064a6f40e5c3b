from django.urls import path

from projects import views

app_name = "projects"

urlpatterns = [
    path("", views.project_list, name="list"),
    path("<str:code>/", views.project_page, name="project"),
    path("<str:code>/assets.geojson", views.project_assets_geojson, name="assets-geojson"),
    path("<str:code>/funds/", views.fund_line_post, name="funds"),
    path("<str:code>/links/", views.link_post, name="link"),
]
