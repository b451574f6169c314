from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# How a signer stepped up (face check, or a staff authenticator code), and the video hearing a
# conversion scheduled. Adding a column fires no row trigger, so the append-only signatures stay.

class Migration(migrations.Migration):
    dependencies = [('async_hearings', '0004_signature_per_party')]

    initial = False

    operations = [
        ops.AddField(
            model_name='AsyncHearing',
            name='video_hearing_id',
            field=fields.UUIDField(null=True),
        ),
        ops.AddField(
            model_name='DocumentSignature',
            name='step_up_method',
            field=fields.CharField(default='face', max_length=8),
        ),
    ]
