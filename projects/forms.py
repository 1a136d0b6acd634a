"""Forms of the project pages: what a person types is checked here before any service runs."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from commons.identifiers import (
    FileRef,
    file_reference,
    normalise_category,
    normalise_qid,
    normalise_user,
)
from commons.listings import MAX_SEARCH_CHARS

from .models import DEFAULT_MIN_ANSWERS, Membership, Project

# --- a list of files, pasted or uploaded --------------------------------------------------

MAX_UPLOAD_BYTES = 4 * 1024 * 1024  # 20,000 titles of about 100 bytes fit twice over
MAX_LINE_CHARS = 1000  # ListedFile.line; a Commons address of a title is well below it
BAD_LINES_SHOWN = 5
# A first cell like these in a CSV file is its header row, not a file.
CSV_HEADERS = frozenset(
    {"title", "titles", "file", "files", "filename", "name", "pageid", "page id"}
)


def max_listed_files() -> int:
    """A list may name as many files as a project takes (WIKIVISAGE_MAX_FILES_PER_PROJECT)."""
    return int(settings.WIKIVISAGE_MAX_FILES_PER_PROJECT)


@dataclass(frozen=True)
class BadLine:
    number: int
    text: str
    message: str


@dataclass
class FileListScan:
    """A list of files read line by line: the files recognised (first mention of each, as
    ``(line number as pasted, line as given, reference)``), the lines refused, and how many
    lines repeated a file. Line numbers count every line, blank ones too, as an editor does."""

    files: list[tuple[int, str, FileRef]] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)
    duplicates: int = 0
    lines: int = 0


def scan_file_lines(lines: Iterable[str]) -> FileListScan:
    """Read each non-blank line as a file reference (``commons.identifiers.file_reference``)."""
    scan = FileListScan()
    seen: set[str] = set()
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text:
            continue
        scan.lines += 1
        try:
            if len(text) > MAX_LINE_CHARS:
                raise ValidationError(_("This line is too long to be a file title."))
            ref = file_reference(text)
        except ValidationError as error:
            scan.bad.append(BadLine(number, text[:200], " ".join(error.messages)))
            continue
        if ref.key in seen:
            scan.duplicates += 1
            continue
        seen.add(ref.key)
        scan.files.append((number, text, ref))
    return scan


def listed_files(lines: Sequence[str]) -> list[tuple[int, str, FileRef]]:
    """The files a list names, or a ValidationError saying what is wrong with it: no file,
    more lines than a project takes, or lines that name no file (the first few, by number)."""
    limit = max_listed_files()
    filled = sum(1 for line in lines if line.strip())
    if filled > limit:
        raise ValidationError(
            _("The list has %(lines)s lines; a project takes at most %(limit)s files."),
            params={
                "lines": number_format(filled, force_grouping=True),
                "limit": number_format(limit, force_grouping=True),
            },
            code="too_many",
        )
    scan = scan_file_lines(lines)
    if scan.bad:
        raise ValidationError(
            [_bad_line_error(bad) for bad in scan.bad[:BAD_LINES_SHOWN]]
            + _more_bad_lines(len(scan.bad) - BAD_LINES_SHOWN)
        )
    if not scan.files:
        raise ValidationError(_("The list names no file: give one title per line."), code="empty")
    return scan.files


def _bad_line_error(bad: BadLine) -> ValidationError:
    return ValidationError(
        _("Line %(number)d: %(message)s"),
        params={"number": bad.number, "message": bad.message},
        code="bad_line",
    )


def _more_bad_lines(count: int) -> list[ValidationError]:
    if count <= 0:
        return []
    text = ngettext(
        "…and %(count)d more line that names no file.",
        "…and %(count)d more lines that name no file.",
        count,
    )
    return [ValidationError(text, params={"count": count}, code="bad_line")]


def upload_lines(upload: UploadedFile) -> list[str]:
    """The lines of an uploaded list: plain text, one file per line, or the first column of
    a CSV (``.csv``) or TSV (``.tsv``) file, its header row left out."""
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("The file is too large: a list of files takes at most %(size)s MB."),
            params={"size": MAX_UPLOAD_BYTES // (1024 * 1024)},
            code="too_large",
        )
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    try:
        # A NUL byte decodes as UTF-8, yet no text file holds one.
        text = data.decode("utf-8-sig") if b"\x00" not in data else None
    except UnicodeDecodeError:
        text = None
    if text is None:
        raise ValidationError(
            _("This is not a text file. Upload a list of titles as UTF-8 text or CSV."),
            code="binary",
        )
    return list_lines(text, upload.name or "")


def list_lines(text: str, name: str = "") -> list[str]:
    """The lines of a list: as they are, or the first column when ``name`` is a CSV (TSV).
    Raises ValidationError for a CSV the csv module cannot read."""
    lines = text.splitlines()
    if not name.lower().endswith((".csv", ".tsv")):
        return lines
    delimiter = "\t" if name.lower().endswith(".tsv") else ","
    try:
        cells = [row[0] if row else "" for row in csv.reader(lines, delimiter=delimiter)]
    except csv.Error as error:
        # A cell past the csv module's field limit (128 KiB), a NUL byte: no list of titles.
        raise ValidationError(
            _("This CSV file cannot be read (%(error)s): give one title per line instead."),
            params={"error": str(error)},
            code="bad_csv",
        ) from error
    if cells and cells[0].strip().lower() in CSV_HEADERS:
        cells[0] = ""  # blank lines are skipped, and line numbers stay those of the file
    return cells


# --- a new project --------------------------------------------------------------------------


class ProjectNewForm(forms.Form):
    qid = forms.CharField(
        label=_("Person (Wikidata item)"),
        max_length=16,
        help_text=_("Type a name and pick the person, or give a Q-id such as Q42."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "Q42"}),
    )
    scope = forms.ChoiceField(
        label=_("Look in"),
        choices=Project.Scope.choices,
        initial=Project.Scope.CATEGORY,
        required=False,  # a form without it (an older page, a script) means a category
        widget=forms.RadioSelect,
    )
    category = forms.CharField(
        label=_("Commons category"),
        max_length=255,
        required=False,
        help_text=_("Without the “Category:” prefix."),
    )
    crawl_depth = forms.IntegerField(
        label=_("Subcategory depth"),
        initial=2,
        min_value=0,
        max_value=10,
        required=False,
        help_text=_("How many levels of subcategories to include."),
    )
    file_list = forms.CharField(
        label=_("Files, one per line"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text=_(
            "File titles (with or without “File:”), page ids, or addresses of file pages "
            "on Commons."
        ),
    )
    search_query = forms.CharField(
        label=_("Commons search"),
        max_length=MAX_SEARCH_CHARS,
        required=False,
        help_text=_(
            "A search in the files of Commons, as in its search box: words, "
            "incategory:Name, haswbstatement:P180=Q42, insource:… (a minus sign before a "
            "term leaves its files out). It is run again at each re-crawl."
        ),
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    uploads_user = forms.CharField(
        label=_("Wikimedia user"),
        max_length=255,
        required=False,
        help_text=_(
            "The files this user uploaded to Commons (its current version is theirs), "
            "looked up again at each re-crawl. With or without “User:”."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "User:…"}),
    )
    file_upload = forms.FileField(
        label=_("Or upload a list"),
        required=False,
        help_text=_("A text file with one file per line, or a CSV file (first column)."),
        widget=forms.ClearableFileInput(attrs={"accept": ".txt,.csv,.tsv,text/plain,text/csv"}),
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

    def clean_crawl_depth(self) -> int:
        depth = self.cleaned_data.get("crawl_depth")
        return 2 if depth is None else int(depth)

    def clean(self) -> dict[str, Any]:
        """The category for a category project; the list (pasted, uploaded or both) for a
        list of files, read into ``cleaned_data["files"]``; the search (blanks collapsed) or
        the user name (``normalise_user``) for the other two."""
        data = super().clean() or {}
        if "scope" in data and not data["scope"]:
            data["scope"] = Project.Scope.CATEGORY
        if data.get("scope") == Project.Scope.FILES:
            self._clean_files(data)
        elif data.get("scope") == Project.Scope.SEARCH:
            data["search_query"] = " ".join((data.get("search_query") or "").split())
            if not data["search_query"]:
                self.add_error("search_query", _("Give the search to run on Commons."))
        elif data.get("scope") == Project.Scope.UPLOADS:
            try:
                data["uploads_user"] = normalise_user(data.get("uploads_user") or "")
            except ValidationError as error:
                self.add_error("uploads_user", error)
        elif data.get("scope") == Project.Scope.CATEGORY:
            try:
                data["category"] = normalise_category(data.get("category") or "")
            except ValidationError as error:
                self.add_error("category", error)
        return data

    def _clean_files(self, data: dict[str, Any]) -> None:
        lines = (data.get("file_list") or "").splitlines()
        upload = data.get("file_upload")
        if upload:
            try:
                lines += upload_lines(upload)
            except ValidationError as error:
                self.add_error("file_upload", error)
                return
        try:
            data["files"] = listed_files(lines)
        except ValidationError as error:
            self.add_error(
                "file_upload" if upload and not data.get("file_list") else "file_list", error
            )


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
            "share_confirmed_faces",
            "allow_uploaders",
            "uploaders_by_email",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.scope != Project.Scope.CATEGORY:
            del self.fields["crawl_depth"]  # only a category has subcategories


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


class SearchEstimateForm(forms.Form):
    q = forms.CharField(max_length=MAX_SEARCH_CHARS)


class CategoryEstimateForm(forms.Form):
    category = forms.CharField(max_length=255)
    depth = forms.IntegerField(min_value=0, max_value=10, required=False)

    def clean_category(self) -> str:
        return normalise_category(self.cleaned_data["category"])

    def clean_depth(self) -> int:
        depth = self.cleaned_data.get("depth")
        return 2 if depth is None else int(depth)


def errors_text(errors: Iterable[Iterable[object]]) -> str:
    """A form's errors as one line, for a message after a redirect."""
    return " ".join(str(message) for messages_ in errors for message in messages_)
