from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.actions import create_member


class Command(BaseCommand):
    help = "Create a user in a company (the company too, if new). --admin gives admin-panel access."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--password", required=True)
        parser.add_argument("--company", required=True, help="The CRM's companyId.")
        parser.add_argument("--company-name", help="The company's name, when it is created.")
        parser.add_argument("--user-id", help="The CRM's userId (defaults to the new user's id).")
        parser.add_argument("--admin", action="store_true", help="Make a company admin.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            member = create_member(
                options["username"],
                options["password"],
                options["company"],
                company_name=options["company_name"],
                user_external_id=options["user_id"],
                is_admin=options["admin"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        role = "company admin" if member.is_company_admin else "member"
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {role} {member.user.get_username()} (userId {member.external_id}) "
                f"in {member.company.name} (companyId {member.company.external_id})."
            )
        )
