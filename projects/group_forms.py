"""The new-group form: a category and several Q-ids, checked here before any service runs."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from commons.identifiers import normalise_category, normalise_qid

from .forms import ProjectNewForm
from .groups import MAX_PEOPLE, MIN_PEOPLE

SEPARATORS = re.compile(r"[\s,;]+")


def qids_read(text: str) -> list[str]:
    """The Q-ids of ``text`` (one per line or comma-separated), each normalised; a
    ValidationError lists every entry that is not a Q-id and every one given twice."""
    entries = [entry for entry in SEPARATORS.split(text) if entry]
    qids: list[str] = []
    errors: list[ValidationError] = []
    for entry in entries:
        try:
            qid = normalise_qid(entry)
        except ValidationError as error:
            errors.append(error)
            continue
        if qid in qids:
            errors.append(ValidationError(_("%(qid)s is given twice."), params={"qid": qid}))
            continue
        qids.append(qid)
    if errors:
        raise ValidationError(errors)
    return qids


class GroupNewForm(forms.Form):
    name = forms.CharField(
        label=_("Name of the group"),
        max_length=255,
        required=False,
        help_text=_("Optional; without one the group is named after its people."),
    )
    people = forms.CharField(
        label=_("People (Wikidata items)"),
        widget=forms.Textarea(
            attrs={"rows": 6, "spellcheck": "false", "placeholder": "Q76\nQ13133"}
        ),
        help_text=_("2 to 12 Q-ids, one per line or separated by commas."),
    )
    category = forms.CharField(
        label=_("Commons category"), max_length=255, help_text=_("Without the “Category:” prefix.")
    )
    # The same bounds and help as a project of one person: the group's projects are those.
    crawl_depth = ProjectNewForm.base_fields["crawl_depth"]
    distance_threshold = ProjectNewForm.base_fields["distance_threshold"]
    min_answers = ProjectNewForm.base_fields["min_answers"]

    def clean_people(self) -> list[str]:
        qids = qids_read(self.cleaned_data["people"])
        if not MIN_PEOPLE <= len(qids) <= MAX_PEOPLE:
            raise ValidationError(
                _("A group holds %(min)d to %(max)d people; %(count)d are given."),
                params={"min": MIN_PEOPLE, "max": MAX_PEOPLE, "count": len(qids)},
            )
        return qids

    def clean_category(self) -> str:
        return normalise_category(self.cleaned_data["category"])

    def clean_crawl_depth(self) -> int:
        depth = self.cleaned_data.get("crawl_depth")
        return 2 if depth is None else int(depth)
