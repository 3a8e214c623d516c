from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0010_webhooks"),
    ]

    operations = [
        migrations.AddField(
            model_name="applicationstatuschange",
            name="internal_note",
            field=models.CharField(blank=True, max_length=1000),
        ),
    ]
