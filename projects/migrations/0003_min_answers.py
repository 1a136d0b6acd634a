"""``min_confirmed`` counted human yes answers only, so the gate held suggestions back long after
the learner was sure; ``min_answers`` counts what its label says: yes and no answers, and the
person's existing depicts statements. Each project keeps the number it had."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0002_learning_state"),
    ]

    operations = [
        migrations.RenameField(
            model_name="project", old_name="min_confirmed", new_name="min_answers"
        ),
        migrations.AlterField(
            model_name="project",
            name="min_answers",
            field=models.PositiveSmallIntegerField(
                default=3,
                help_text="Yes or no answers the learner needs before it proposes faces; the "
                "person's existing depicts statements count as answers.",
                validators=[django.core.validators.MinValueValidator(1)],
                verbose_name="answers before suggestions",
            ),
        ),
    ]
