from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommonsConfig(AppConfig):
    name = "commons"
    verbose_name = _("Commons")

    def ready(self) -> None:
        # Once, as the app starts, rather than as a side effect of importing the module.
        from commons.oauth import login_patches_apply

        login_patches_apply()
