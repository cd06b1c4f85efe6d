"""Company and Member leave the buttons app's state; their tables stay, owned by accounts (0001)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("buttons", "0008_companies_to_accounts"),
        ("messaging", "0003_companies_to_accounts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="member", name="member_company_external_uniq"),
                migrations.DeleteModel(name="Member"),
                migrations.DeleteModel(name="Company"),
            ],
            database_operations=[],
        ),
    ]
