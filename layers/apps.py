from django.apps import AppConfig


class LayersConfig(AppConfig):
    name = "layers"

    def ready(self):
        from layers import schema  # noqa: F401 - registers the OpenAPI extension
