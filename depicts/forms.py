"""Forms of the suggestion grid: its filters, and the faces a reviewer ticked."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from depicts.selectors import SuggestionFilter, SuggestionSource
from faces.forms import IdListField


class PercentField(forms.DecimalField):
    """A score typed in percent, as the grid shows scores (projects.figures); cleaned to the
    0..1 share the labels store."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=Decimal(0), max_value=Decimal(100), decimal_places=1, **kwargs)

    def clean(self, value: Any) -> Decimal | None:
        cleaned = super().clean(value)
        return None if cleaned is None else cleaned / 100


class SuggestionFilterForm(forms.Form):
    score_min = PercentField(label=_("Score from (%)"), required=False)
    score_max = PercentField(label=_("to (%)"), required=False)
    source = forms.ChoiceField(
        label=_("Source"),
        required=False,
        choices=[
            (SuggestionSource.ALL, _("All")),
            (SuggestionSource.MODEL, _("Suggested by the learner")),
            (SuggestionSource.HUMAN, _("Confirmed by a reviewer")),
            (SuggestionSource.COMMONS, _("On Commons already")),
            (SuggestionSource.DOUBTED, _("Existing statements to check")),
        ],
    )

    def filters(self) -> SuggestionFilter:
        data = self.cleaned_data if self.is_valid() else {}
        return SuggestionFilter(
            score_min=data.get("score_min"),
            score_max=data.get("score_max"),
            source=data.get("source") or SuggestionSource.ALL,
        )


class FaceSelectionForm(forms.Form):
    face = IdListField()

    def clean_face(self) -> list[int]:
        ids: list[int] = self.cleaned_data["face"]
        if not ids:
            raise ValidationError(_("Select at least one face."))
        return ids


class DoubtsForm(forms.Form):
    """ "Which of these are not the person?": the faces shown, one request id each (so a
    second submit stores nothing twice), and those ticked as not the person."""

    face = IdListField()
    request_id = forms.Field(required=False)
    not_person = IdListField(required=False)

    @classmethod
    def from_post(cls, post: QueryDict) -> DoubtsForm:
        """Every value of each list field (a plain form keeps only the last one)."""
        return cls({name: post.getlist(name) for name in ("face", "request_id", "not_person")})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        faces, ticked = data.get("face") or [], data.get("not_person") or []
        try:
            request_ids = [uuid.UUID(str(value)) for value in data.get("request_id") or []]
        except ValueError:
            raise ValidationError(_("A request id is not valid.")) from None
        if len(request_ids) != len(faces) or len(set(faces)) != len(faces):
            raise ValidationError(_("Each face needs its own request id."))
        if not set(ticked) <= set(faces):
            raise ValidationError(_("A face ticked is not one of the faces shown."))
        data["answers"] = [
            (face, request_id, face in ticked)
            for face, request_id in zip(faces, request_ids, strict=True)
        ]
        return data
