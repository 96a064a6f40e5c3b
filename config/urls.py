from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("maps.urls")),
    path("", include("lifecycle.urls")),  # issue 9: to-do, workflow steps, attachments, notices
    path("", include("layers.urls")),
    path("", include("verification.urls")),
    path("", include("reports.urls")),
    path("import/", include("importers.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
