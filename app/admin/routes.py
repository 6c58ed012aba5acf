"""The admin console's routes. Every page admits administrators only, decided on each request
(app/admin/common.py); each page's module owns its handlers and queries."""

from __future__ import annotations

from starlette.routing import Route

from app.admin.audit import audit_export, audit_log
from app.admin.group import group_page
from app.admin.groups import groups
from app.admin.overview import overview
from app.admin.settings import settings, test_connection, test_sign_in
from app.admin.support import support_bundle
from app.admin.tokens import api_tokens
from app.admin.user import user_page
from app.admin.user_sessions import end_all_sessions, end_session
from app.admin.users import users


def routes() -> list[Route]:
    return [
        Route("/admin", overview, name="admin"),
        Route("/admin/", overview),
        Route("/admin/settings", settings, name="admin_settings"),
        Route("/admin/settings/test-connection", test_connection, methods=["POST"]),
        Route("/admin/settings/test-signin", test_sign_in, methods=["POST"]),
        Route("/admin/settings/support-bundle", support_bundle, methods=["POST"]),
        Route("/admin/api-tokens", api_tokens, methods=["GET", "POST"], name="admin_api_tokens"),
        Route("/admin/users", users, name="admin_users"),
        Route("/admin/users/{id}", user_page, name="admin_user"),
        Route(
            "/admin/users/{id}/sessions/end",
            end_session,
            methods=["GET", "POST"],
            name="admin_user_end_session",
        ),
        Route(
            "/admin/users/{id}/sessions/end-all",
            end_all_sessions,
            methods=["GET", "POST"],
            name="admin_user_end_all_sessions",
        ),
        Route("/admin/groups", groups, name="admin_groups"),
        Route("/admin/groups/{id}", group_page, name="admin_group"),
        Route("/admin/audit", audit_log, name="admin_audit"),
        Route("/admin/audit/export", audit_export, name="admin_audit_export"),
    ]
