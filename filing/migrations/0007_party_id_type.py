from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('filing', '0006_party_domiciled_abroad')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Party',
            name='id_number_masked',
            field=fields.CharField(null=True, max_length=20),
        ),
        ops.AddField(
            model_name='Party',
            name='country',
            field=fields.CharField(null=True, max_length=3),
        ),
        # A database default fills the rows already there (every person so far gave a resident
        # ID); organisations so far all gave a credit code.
        ops.AddField(
            model_name='Party',
            name='id_type',
            field=fields.CharField(default='resident_id', db_default='resident_id', max_length=32),
        ),
        ops.RunSQL(
            "UPDATE filing_party SET id_type = 'credit_code' WHERE kind = 'organisation'",
            reverse_sql="SELECT 1",
        ),
        ops.AddField(
            model_name='Party',
            name='registration_number',
            field=fields.CharField(null=True, max_length=40),
        ),
    ]
