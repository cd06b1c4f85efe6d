"""The demo data `./run` seeds on every start: created once, then only kept pointing at the app's port."""

from io import StringIO

from django.core.management import call_command

from buttons.models import Button


def test_running_again_keeps_admins_edits_and_survives_a_duplicate_label(db: None, settings: object) -> None:
    settings.DEMO_BASE_URL = "http://127.0.0.1:8000"
    call_command("seed_demo", stdout=StringIO())
    invoice = Button.objects.get(label="Create invoice")
    vat = Button.objects.get(label="Check VAT number")
    # An admin adds a button with a demo label (as the README's API example does) and edits another.
    Button.objects.create(company=invoice.company, label="Create invoice", url="https://hooks.example.com/x",
                          resource="deal")
    Button.objects.filter(pk=vat.pk).update(messages_public=False)

    settings.DEMO_BASE_URL = "http://127.0.0.1:9000"  # PORT=9000 ./run
    call_command("seed_demo", stdout=StringIO())
    invoice.refresh_from_db()
    assert invoice.url == "http://127.0.0.1:9000/demo/automation?scenario=progress"
    assert Button.objects.get(pk=vat.pk).messages_public is False
    assert Button.objects.filter(label="Create invoice").count() == 2
    assert Button.objects.get(url="https://hooks.example.com/x")  # the admin's own button is untouched
