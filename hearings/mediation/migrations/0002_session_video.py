from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('mediation', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='MediationSession',
            name='video_hearing_id',
            field=fields.UUIDField(null=True),
        ),
    ]
