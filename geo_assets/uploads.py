"""Uploads are refused before their body is read: first on the user's right, then on the declared size.

Every route that takes files declares an `UploadRule` (the `upload_rule` decorator on a view function, or an
`upload_rule` attribute on a view class): who may send (checked with the route's own arguments) and how large the
whole body and each file may be. `UploadGuardMiddleware` runs right after authentication and before anything
parses the body — the NUL check, Django's CSRF check and DRF's session check all read request.POST — so a roleless
account posting 3 × 40 MB gets its 403 and an over-size body its 413 while the files are still unread. A POST to a
route without a rule may not be larger than DATA_UPLOAD_MAX_MEMORY_SIZE (plus the form's overhead). While a body is
read, the streaming handler (importers.uploads.SizeLimitUploadHandler) stops at the route's body limit.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, get_resolver
from django.utils.translation import gettext as _

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
FORM_OVERHEAD = 1024 * 1024  # the form's own fields and the multipart boundaries around the files


@dataclass(frozen=True)
class UploadRule:
    allowed: Callable[..., bool]  # (user, **route kwargs) → may this user send files here?
    denied: str  # the refusal, as the user reads it (gettext_lazy: the rule is declared at import time)
    file_bytes: Callable[[], int]  # the largest file
    files: int = 1  # how many files one request may carry
    api: bool = False  # answer in JSON (DRF's {"detail": …}) rather than with a page
    # stop reading as soon as one file passes file_bytes (request.upload_too_large): only for a view that tells the
    # user so; elsewhere a file cut short would go unnoticed, so reading stops at the body's limit
    stops_at_file_limit: bool = False

    def body_bytes(self) -> int:
        return self.files * self.file_bytes() + FORM_OVERHEAD


def upload_rule(**kwargs):
    """Declare a view's UploadRule (see the module's docstring)."""
    rule = UploadRule(**kwargs)

    def decorate(view):
        view.upload_rule = rule
        return view

    return decorate


def rule_of(view) -> UploadRule | None:
    for holder in (view, getattr(view, "cls", None), getattr(view, "view_class", None)):
        rule = getattr(holder, "upload_rule", None)
        if rule is not None:
            return rule
    return None


def _mb(size: int) -> str:
    return f"{size / 1024**2:.1f}".removesuffix(".0")


def too_large_message(size: int, limit: int) -> str:
    return _("The upload is too large (%(size)s MB); at most %(limit)s MB at a time: send fewer files or smaller "
             "ones.") % {"size": _mb(size), "limit": _mb(limit)}


def _token_user(request):
    """The user of the request's `Authorization: Token …` (DRF's TokenAuthentication, as the API views accept), or
    None: the guard runs before DRF authenticates, and an API client has no session."""
    from rest_framework.authentication import TokenAuthentication
    from rest_framework.exceptions import AuthenticationFailed

    try:
        found = TokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None
    return found[0] if found else None


class UploadGuardMiddleware:
    """After AuthenticationMiddleware, before every middleware or view that reads the body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in BODY_METHODS:
            refusal = self.refusal(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    def refusal(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        try:
            match = get_resolver(getattr(request, "urlconf", None)).resolve(request.path_info)
        except Resolver404:
            match = None
        rule = rule_of(match.func) if match else None
        if rule is None:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + FORM_OVERHEAD
            if length > limit:
                return self.respond(request, None, 413, too_large_message(length, limit))
            return None
        user = request.user
        if not user.is_authenticated and rule.api:
            user = _token_user(request) or user  # an API client (a phone) sends its token, not a session
        if not user.is_authenticated and not rule.api:
            return redirect_to_login(request.get_full_path())
        if not user.is_authenticated or not user.is_active or not rule.allowed(user, **match.kwargs):
            return self.respond(request, rule, 403, rule.denied)
        limit = rule.body_bytes()
        if length > limit:
            return self.respond(request, rule, 413, too_large_message(length, limit))
        # The streaming handler stops a body that outgrows its declared length; each file's own limit is the form's
        # or the service's refusal, with its name (unless the view handles request.upload_too_large itself).
        request.upload_max_bytes = rule.file_bytes() if rule.stops_at_file_limit else limit
        return None

    @staticmethod
    def respond(request, rule: UploadRule | None, status: int, message: str):
        if (rule and rule.api) or request.path.startswith("/api/"):
            return JsonResponse({"detail": str(message)}, status=status, json_dumps_params={"ensure_ascii": False})
        return render(request, "upload_refused.html", {"message": message, "status": status}, status=status)
