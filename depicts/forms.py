"""Forms of the suggestion grid: its filters, and the faces a reviewer ticked."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
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
