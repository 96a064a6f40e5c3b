"""Routes of the lifecycle pages (issue 9), included by maps/urls.py."""

from django.urls import path

from maps import lifecycle_views as views

urlpatterns = [
    path("todo/", views.todo, name="todo"),
    path("api/v1/todo/counts/", views.todo_counts, name="todo-counts"),
    path("assets/<str:code>/lifecycle/", views.asset_lifecycle, name="asset-lifecycle"),
    path("assets/<str:code>/lifecycle/<slug:step>/", views.asset_step, name="asset-step"),
    path("villages/<str:code>/plans/", views.plan_list, name="plans"),
    path("villages/<str:code>/plans/new/", views.plan_draft, name="plan-draft"),
    path("villages/<str:code>/plans/<int:year>/", views.plan_detail, name="plan"),
    path("villages/<str:code>/plans/<int:year>/redraft/", views.plan_redraft, name="plan-redraft"),
    path("villages/<str:code>/plans/<int:year>/<slug:step>/", views.plan_step, name="plan-step"),
    path("villages/<str:code>/notices/", views.notice_list, name="notices"),
    path("villages/<str:code>/notices/new/", views.notice_new, name="notice-new"),
    path("villages/<str:code>/notices/paper/", views.notice_paper, name="notice-paper"),
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
