"""Forms of the uploads page: one answer, and the notices switch."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from faces.forms import IdField
from faces.models import Label


class UploadAnswerForm(forms.Form):
    """Yes or no on one suggestion of one project; the request id makes a retry harmless."""

    project = IdField()
    face = IdField()
    verdict = forms.ChoiceField(
        choices=[(Label.Verdict.YES, _("Yes")), (Label.Verdict.NO, _("No"))]
    )
    request_id = forms.UUIDField()


class UploadNoticesForm(forms.Form):
    notify = forms.BooleanField(
        label=_("Tell me of suggestions on my uploads (at most once a day)"), required=False
    )
