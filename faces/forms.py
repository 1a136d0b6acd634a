"""Forms of the review endpoints. The classify page posts JSON; these forms check it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from faces.detection import FaceBox
from faces.models import Label

# The browser never holds more than a few faces; a longer list is not from our page.
MAX_IDS = 200


class IdListField(forms.Field):
    """A list of ids, from a JSON array or from a comma-separated query string."""

    def to_python(self, value: Any) -> list[int]:
        if value in (None, "", []):
            return []
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, Sequence) or len(items) > MAX_IDS:
            raise ValidationError(_("Give at most %(n)d ids.") % {"n": MAX_IDS})
        try:
            return [int(item) for item in items]
        except (TypeError, ValueError):
            raise ValidationError(_("Ids are whole numbers.")) from None


class ExcludeForm(forms.Form):
    """``exclude``: the faces the browser shows already, never to be served again."""

    exclude = IdListField(required=False)


class AnswerForm(ExcludeForm):
    face = forms.IntegerField(min_value=1)
    verdict = forms.ChoiceField(choices=Label.Verdict.choices)
    request_id = forms.UUIDField()


class PickForm(ExcludeForm):
    """1-9: this face of the photo is the person; 0 (no face): none of them is."""

    image = forms.IntegerField(min_value=1)
    face = forms.IntegerField(min_value=1, required=False)
    request_id = forms.UUIDField()


class BoxForm(ExcludeForm):
    left = forms.FloatField(min_value=0, max_value=1)
    top = forms.FloatField(min_value=0, max_value=1)
    width = forms.FloatField(min_value=0, max_value=1)
    height = forms.FloatField(min_value=0, max_value=1)

    @property
    def box(self) -> FaceBox:
        data = self.cleaned_data
        return FaceBox(
            left=data["left"], top=data["top"], width=data["width"], height=data["height"]
        )


class DrawForm(BoxForm):
    image = forms.IntegerField(min_value=1)


class CorrectForm(BoxForm):
    face = forms.IntegerField(min_value=1)
