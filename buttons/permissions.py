from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from buttons.models import Member


class IsCompanyAdmin(BasePermission):
    message = "Only company admins can manage buttons."

    def has_permission(self, request: Request, view: APIView) -> bool:
        try:
            return bool(request.user and request.user.is_authenticated and request.user.member.is_company_admin)
        except Member.DoesNotExist:
            return False
