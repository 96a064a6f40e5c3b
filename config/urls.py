from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from geo_assets.views import role_choose

urlpatterns = [
    # first: the tiles and the API are most of the requests (a map view asks dozens), and a URL is matched against
    # the patterns in order; no pattern of layers matches a page of the others
    path("", include("layers.urls")),
    path("", include("maps.urls")),
    path("", include("lifecycle.urls")),  # issue 9: to-do, workflow steps, attachments, notices
    path("", include("verification.urls")),
    path("", include("reports.urls")),
    path("import/", include("importers.urls")),
    path("projects/", include("projects.urls")),  # issue 17: project pages
    path("account/role/", role_choose, name="role-choose"),  # issue 19: the role a person acts in
    path("i18n/", include("django.conf.urls.i18n")),
    # the scripts' messages (locale/*/LC_MESSAGES/djangojs.po), loaded before a page's own script
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()

# a 404 shows the message a view wrote for users (config.views.page_not_found)
handler404 = "config.views.page_not_found"
# a database restarting or a full disk met before a view runs: 503/507 with Retry-After (config.middleware)
handler500 = "config.views.server_error"
