"""Forms of the review endpoints. The classify page posts JSON; these forms check it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from commons.identifiers import normalise_qid
from faceengine.detection import FaceBox
from faces.models import Label

# The browser never holds more than a few faces; a longer list is not from our page.
MAX_IDS = 200
# Row ids are 64-bit (BigAutoField): a larger number is refused here, not by the database.
MAX_ID = 2**63 - 1


class IdField(forms.IntegerField):
    """A row id: a whole number the database can hold."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


class IdListField(forms.Field):
    """A list of ids, from a JSON array or from a comma-separated query string."""

    def to_python(self, value: Any) -> list[int]:
        if value in (None, "", []):
            return []
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, Sequence) or len(items) > MAX_IDS:
            raise ValidationError(_("Give at most %(n)d ids.") % {"n": MAX_IDS})
        try:
            ids = [int(item) for item in items]
        except (TypeError, ValueError):
            raise ValidationError(_("Ids are whole numbers.")) from None
        if any(not 1 <= pk <= MAX_ID for pk in ids):
            raise ValidationError(_("An id is out of range."))
        return ids


class ExcludeForm(forms.Form):
    """``exclude``: the faces the browser shows already, never to be served again."""

    exclude = IdListField(required=False)


class AnswerForm(ExcludeForm):
    face = IdField()
    verdict = forms.ChoiceField(choices=Label.Verdict.choices)
    request_id = forms.UUIDField()


class PickForm(ExcludeForm):
    """1-9: this face of the photo is the person; 0 (no face): none of them is."""

    image = IdField()
    face = IdField(required=False)
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
    image = IdField()


class CorrectForm(BoxForm):
    face = IdField()


class WhoForm(ExcludeForm):
    """ "Who is this?" in a group: one of its people (``person``, their project's id),
    ``none`` of them, or ``skip``."""

    face = IdField()
    answer = forms.ChoiceField(choices=[("person", "person"), ("none", "none"), ("skip", "skip")])
    person = IdField(required=False)
    request_id = forms.UUIDField()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("answer") == "person" and not data.get("person"):
            self.add_error("person", _("Say which person."))
        return data


class SharedForm(ExcludeForm):
    """A person proposed by another project's confirmed faces (``qid``) is this face."""

    face = IdField()
    qid = forms.CharField(max_length=16)
    request_id = forms.UUIDField()

    def clean_qid(self) -> str:
        return normalise_qid(self.cleaned_data["qid"])
