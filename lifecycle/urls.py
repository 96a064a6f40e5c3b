"""Routes of the lifecycle pages (issue 9), included by config/urls.py: the paths and
names they had under maps/urls.py (their namespace is now `lifecycle`; nothing reversed them as `maps:`)."""

from django.conf import settings
from django.urls import path
from django.utils.translation import gettext_lazy as _l

from geo_assets.uploads import upload_rule
from lifecycle import rules, views

# The step pages take documents: who has no right to the asset or village is refused before the files are read
# (geo_assets.uploads), as the page itself would refuse (it 404s an asset the user does not see and refuses a
# village outside the user's area); each file's size and type are the service's check.
ATTACHMENTS_PER_REQUEST = 6
NO_RIGHT = _l("You may not take this step: the asset or village is outside your responsibility; what you sent "
              "(files included) was not read.")


def _may_send_asset(user, code: str, step: str) -> bool:
    return rules.may_send_to_asset(user, code)


def _may_send_village(user, code: str, year: int, step: str) -> bool:
    return rules.may_send_to_village(user, code)


def _may_post_notice(user, code: str) -> bool:
    return rules.may_send_to_village(user, code)


def _guarded(view, allowed):
    return upload_rule(allowed=allowed, denied=NO_RIGHT, file_bytes=lambda: settings.ATTACHMENT_MAX_BYTES,
                       files=ATTACHMENTS_PER_REQUEST)(view)


app_name = "lifecycle"

urlpatterns = [
    path("todo/", views.todo, name="todo"),
    path("api/v1/todo/counts/", views.todo_counts, name="todo-counts"),
    path("assets/<str:code>/lifecycle/", views.asset_lifecycle, name="asset-lifecycle"),
    path("assets/<str:code>/lifecycle/<slug:step>/", _guarded(views.asset_step, _may_send_asset), name="asset-step"),
    path("villages/<str:code>/plans/", views.plan_list, name="plans"),
    path("villages/<str:code>/plans/new/", views.plan_draft, name="plan-draft"),
    path("villages/<str:code>/plans/<int:year>/", views.plan_detail, name="plan"),
    path("villages/<str:code>/plans/<int:year>/redraft/", views.plan_redraft, name="plan-redraft"),
    path("villages/<str:code>/plans/<int:year>/<slug:step>/", _guarded(views.plan_step, _may_send_village), name="plan-step"),
    path("villages/<str:code>/notices/", views.notice_list, name="notices"),
    path("villages/<str:code>/notices/new/", views.notice_new, name="notice-new"),
    path("villages/<str:code>/notices/paper/", _guarded(views.notice_paper, _may_post_notice), name="notice-paper"),
    path("villages/<str:code>/notices/<int:pk>/", views.notice_detail, name="notice"),
    path("villages/<str:code>/notices/<int:pk>/objection/", views.objection_new, name="objection-new"),
    path("villages/<str:code>/notices/<int:pk>/objections/<int:objection>/answer/", views.objection_answer,
         name="objection-answer"),
    path("villages/<str:code>/notices/<int:pk>/repost/", views.notice_repost, name="notice-repost"),
    path("villages/<str:code>/annual/<int:year>/", views.annual, name="annual"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("notices/<uuid:token>/", views.notice_public, name="notice-public"),
    path("notices/<uuid:token>.pdf", views.notice_pdf, name="notice-pdf"),
]
