from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('service', '0003_delivery_copies')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ServiceDelivery',
            name='notice_medium',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddField(
            model_name='ServiceDelivery',
            name='notice_reference',
            field=fields.CharField(null=True, max_length=100),
        ),
        ops.AddField(
            model_name='ServiceDelivery',
            name='postal_failed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ServiceDelivery',
            name='postal_failure',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.AddField(
            model_name='ServiceDelivery',
            name='postal_failure_tracking',
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
