"""Query-parameter filters shared by the tiles and the GeoJSON API: the rule lives in geo_assets.filters, where
the ledger export (importers) uses it too."""

from geo_assets.filters import CODE_RE, MAX_VALUES, AssetFilters, asset_filters_apply, asset_filters_parse

__all__ = ["CODE_RE", "MAX_VALUES", "AssetFilters", "asset_filters_apply", "asset_filters_parse"]
