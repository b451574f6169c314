from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('filing', '0005_fee_relief_payment_expiry')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Party',
            name='domiciled_abroad',
            field=fields.BooleanField(default=False),
        ),
    ]
