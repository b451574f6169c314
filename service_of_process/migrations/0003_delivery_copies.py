from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('service', '0002_recipient_abroad')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ServiceDelivery',
            name='copy_of_id',
            field=fields.UUIDField(null=True, unique=True),
        ),
    ]
