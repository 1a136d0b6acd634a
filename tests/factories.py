"""factory_boy factories for every model."""

from __future__ import annotations

import uuid

import factory
import numpy as np
from django.contrib.auth import get_user_model

from depicts.models import DepictsEdit
from faces.models import Answer, Face, Image, Label, ProjectImage
from projects.models import Membership, Project


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct horse battery staple")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    owner = factory.SubFactory(UserFactory)
    qid = factory.Sequence(lambda n: f"Q{1000 + n}")
    category = factory.Sequence(lambda n: f"Test category {n}")
    person_labels = factory.LazyAttribute(lambda o: {"en": f"Person {o.qid}"})

    @factory.post_generation
    def owner_membership(self, create, extracted, **kwargs):
        if create:
            Membership.objects.get_or_create(
                project=self, user=self.owner, defaults={"role": Membership.Role.OWNER}
            )


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.REVIEWER


class ImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Image

    pageid = factory.Sequence(lambda n: 100000 + n)
    title = factory.Sequence(lambda n: f"File:Photo {n}.jpg")
    sha1 = factory.Sequence(lambda n: f"{n:040x}")
    width = 1024
    height = 768
    mime = "image/jpeg"


class ProjectImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProjectImage

    project = factory.SubFactory(ProjectFactory)
    image = factory.SubFactory(ImageFactory)
    source = ProjectImage.Source.CATEGORY


def random_encoding(seed: int | None = None) -> bytes:
    rng = np.random.default_rng(seed)
    vector = rng.normal(size=128).astype(np.float32)
    return Face.pack(vector / np.linalg.norm(vector))


class FaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Face

    image = factory.SubFactory(ImageFactory)
    index = factory.Sequence(lambda n: n % 1000)
    left = 0.25
    top = 0.2
    width = 0.3
    height = 0.4
    encoding = factory.Sequence(random_encoding)


class LabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Label

    project = factory.SubFactory(ProjectFactory)
    face = factory.SubFactory(FaceFactory)
    verdict = Label.Verdict.YES
    source = Label.Source.HUMAN


class AnswerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Answer

    project = factory.SubFactory(ProjectFactory)
    face = factory.SubFactory(FaceFactory)
    user = factory.SubFactory(UserFactory)
    verdict = Label.Verdict.YES
    request_id = factory.LazyFunction(uuid.uuid4)


class DepictsEditFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DepictsEdit

    project = factory.SubFactory(ProjectFactory)
    image = factory.SubFactory(ImageFactory)
    qid = factory.LazyAttribute(lambda o: o.project.qid)
    approved_by = factory.LazyAttribute(lambda o: o.project.owner)
    statement_id = factory.LazyAttribute(lambda o: f"M{o.image.pageid}${uuid.uuid4()}")
