from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DepictsConfig(AppConfig):
    name = "depicts"
    verbose_name = _("Edits")
