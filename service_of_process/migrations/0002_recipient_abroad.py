from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('service', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ServiceDelivery',
            name='recipient_abroad',
            field=fields.BooleanField(default=False),
        ),
    ]
