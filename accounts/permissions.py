from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.access import is_company_admin


class IsCompanyAdmin(BasePermission):
    message = "Only company admins can manage buttons and groups."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_company_admin(request.user)
