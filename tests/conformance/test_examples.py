"""Azure's own REST API examples replayed through ``mock_azure`` (see replay.py for what is
checked). Those the fake does not pass yet are listed in known_gaps.json with the first
difference found; they run as strict expected failures, so one that starts passing must
leave the list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")

from conformance.replay import OPERATIONS, Example, examples, replay  # noqa: E402
from fakecloud import mock_azure  # noqa: E402

GAPS = json.loads((Path(__file__).with_name("known_gaps.json")).read_text(encoding="utf-8"))
ALL = [e for e in examples() if e.operation in OPERATIONS]


def _param(example: Example):
    gap = GAPS.get(example.path)
    marks = [pytest.mark.xfail(reason=gap, strict=True)] if gap else []
    return pytest.param(example, id=example.path, marks=marks)


@pytest.mark.parametrize("example", [_param(e) for e in ALL])
def test_an_official_example_replays_as_documented(example):
    with mock_azure():
        problems = replay(example)
    assert not problems, "\n".join(problems)


def test_every_example_kept_is_replayed_and_every_gap_is_one_of_them():
    kept = {e.path for e in examples()}
    assert {e.path for e in ALL} == kept, "examples of operations the replay cannot send"
    assert set(GAPS) <= kept, "known gaps naming no example"
