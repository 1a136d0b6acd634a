"""The stand-in's worlds with more statements, a share of them wrong (the audit's benchmark)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from fakecommons import build_world_from_manifest

MANIFEST = Path(settings.FACES_DATA_DIR) / "manifest.csv"


def test_a_world_with_wrong_statements_states_them_on_files_of_somebody_else():
    world = build_world_from_manifest(MANIFEST, statements=0.5, wrong_statements=0.1, seed=1)
    fixtures, files = world["fixtures"], world["files"]
    stated = sum(len(names) for names in fixtures["statements"].values())
    wrong = sum(len(names) for names in fixtures["wrong_statements"].values())
    assert 0.09 <= wrong / stated <= 0.11
    own = {qid: set() for qid in fixtures["people"].values()}
    for identity, qid in fixtures["people"].items():
        label = fixtures["person_categories"][identity]
        own[qid] = {name for name in files if name.startswith(f"{label} ")}
    for qid, names in fixtures["statements"].items():
        for name in names:
            assert qid in [d if isinstance(d, str) else d["item"] for d in files[name]["depicts"]]
        assert not set(fixtures["wrong_statements"][qid]) & own[qid]
        assert set(fixtures["wrong_statements"][qid]) <= set(names)


def test_another_seed_draws_another_world_and_the_default_world_is_unchanged():
    one = build_world_from_manifest(MANIFEST, statements=0.5, wrong_statements=0.1, seed=1)
    two = build_world_from_manifest(MANIFEST, statements=0.5, wrong_statements=0.1, seed=2)
    assert one["fixtures"]["wrong_statements"] != two["fixtures"]["wrong_statements"]
    plain = build_world_from_manifest(MANIFEST)
    assert "statements" not in plain["fixtures"]
    assert all(len(f.get("depicts", [])) <= 1 for f in plain["files"].values())
