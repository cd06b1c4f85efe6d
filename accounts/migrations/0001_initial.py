"""Companies and members move here from the buttons app: their tables and rows stay exactly where they
are (db_table), so this migration changes only Django's idea of which app owns them; the content types
follow, so permissions and admin history keep pointing at the same models."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("company", "member"):
        if not ContentType.objects.filter(app_label="accounts", model=model).exists():
            ContentType.objects.filter(app_label="buttons", model=model).update(app_label="accounts")


def move_content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("company", "member"):
        if not ContentType.objects.filter(app_label="buttons", model=model).exists():
            ContentType.objects.filter(app_label="accounts", model=model).update(app_label="buttons")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("buttons", "0007_embed"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Company",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("external_id", models.CharField(max_length=64, unique=True, verbose_name="CRM company id")),
                        ("name", models.CharField(max_length=200)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("embed_secret", models.CharField(blank=True, default="", max_length=120)),
                        ("embed_origins", models.TextField(blank=True, default="", help_text="Pages that may show the OneClick panel in a frame, one origin per line, for example https://app.hubspot.com. Only these can frame /embed/panel/.", verbose_name="allowed origins")),
                    ],
                    options={
                        "db_table": "buttons_company",
                        "verbose_name_plural": "companies",
                        "ordering": ("name",),
                    },
                ),
                migrations.CreateModel(
                    name="Member",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("external_id", models.CharField(max_length=64, verbose_name="CRM user id")),
                        ("is_company_admin", models.BooleanField(default=False)),
                        ("is_active", models.BooleanField(default=True, verbose_name="active")),
                        ("company", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="members", to="accounts.company")),
                        ("user", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="member", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "buttons_member",
                        "constraints": [models.UniqueConstraint(fields=("company", "external_id"), name="member_company_external_uniq")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
