from django.apps import AppConfig


class SharedCacheConfig(AppConfig):
    name = "config.cache"
    label = "shared_cache"
    verbose_name = "Shared cache"
