"""Forms of the project pages: what a person types is checked here before any service runs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from commons.identifiers import normalise_category, normalise_qid

from .models import DEFAULT_MIN_ANSWERS, Membership, Project


class ProjectNewForm(forms.Form):
    qid = forms.CharField(
        label=_("Person (Wikidata item)"),
        max_length=16,
        help_text=_("Type a name and pick the person, or give a Q-id such as Q42."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "Q42"}),
    )
    category = forms.CharField(
        label=_("Commons category"),
        max_length=255,
        help_text=_("Without the “Category:” prefix."),
    )
    crawl_depth = forms.IntegerField(
        label=_("Subcategory depth"),
        initial=2,
        min_value=0,
        max_value=10,
        help_text=_("How many levels of subcategories to include."),
    )
    distance_threshold = forms.FloatField(
        label=_("Distance threshold"),
        initial=0.6,
        min_value=0.1,
        max_value=1.2,
        help_text=_(
            "A face farther than this from every confirmed face is never suggested "
            "(0.6 is dlib's same-person distance; lower is stricter)."
        ),
    )
    min_answers = forms.IntegerField(
        label=_("Answers before suggestions"),
        initial=DEFAULT_MIN_ANSWERS,
        min_value=1,
        max_value=1000,
        help_text=_(
            "Yes or no answers the learner needs before it proposes faces; the person's "
            "existing depicts statements count as answers."
        ),
    )

    def clean_qid(self) -> str:
        return normalise_qid(self.cleaned_data["qid"])

    def clean_category(self) -> str:
        return normalise_category(self.cleaned_data["category"])


class ProjectSettingsForm(forms.ModelForm):
    """The owner's own switches; a moderator's (``moderation``, ``moderator_writes_stopped``)
    are not among its fields, so nothing posted here reaches them."""

    state = forms.ChoiceField(
        label=_("State"),
        choices=[
            (Project.State.ACTIVE, Project.State.ACTIVE.label),
            (Project.State.PAUSED, Project.State.PAUSED.label),
            (Project.State.COMPLETED, Project.State.COMPLETED.label),
        ],
        help_text=_("A paused project takes no answers."),
    )

    class Meta:
        model = Project
        fields = [
            "state",
            "description",
            "crawl_depth",
            "distance_threshold",
            "min_answers",
            "write_face_region",
            "writes_enabled",
            "share_evidence",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class MemberInviteForm(forms.ModelForm):
    """Add a reviewer by user name; ``save()`` creates the membership."""

    username = forms.CharField(label=_("User name"), max_length=150)

    class Meta:
        model = Membership
        fields: list[str] = []

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project = project

    def clean_username(self) -> Any:
        name = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=name, is_active=True).first()
        if user is None:
            raise ValidationError(
                _("Nobody called “%(name)s” has logged in to WikiVisage yet."),
                params={"name": name},
            )
        if self.project.memberships.filter(user=user).exists() or user.pk == self.project.owner_id:
            raise ValidationError(
                _("%(name)s is already a member of this project."), params={"name": name}
            )
        return user

    def save(self, commit: bool = True) -> Membership:
        membership: Membership = super().save(commit=False)
        membership.project = self.project
        membership.user = self.cleaned_data["username"]
        membership.role = Membership.Role.REVIEWER
        if commit:
            membership.save()
        return membership


class PersonQueryForm(forms.Form):
    q = forms.CharField(max_length=200, strip=True)


class PersonCheckForm(forms.Form):
    qid = forms.CharField(max_length=16)

    def clean_qid(self) -> str:
        return normalise_qid(self.cleaned_data["qid"])
