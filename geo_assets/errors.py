from django.core.exceptions import PermissionDenied


class DeletionForbidden(Exception):
    """Records of the register are never deleted: an asset leaves it only through an approved disposal."""


class NotInScope(PermissionDenied):
    """The acting user's role, area or sector does not cover this record."""
