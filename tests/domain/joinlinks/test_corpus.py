"""The labelled corpus (``shared/corpus/joinlinks.jsonl``) passes in full.

The test reads the shared corpus when the checkout has ``../shared`` beside it, and otherwise
the copy next to this file, so a clean clone still has it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from calhub.cli.joinlink import join_record
from calhub.domain.joinlinks import detect_join

COPY = Path(__file__).with_name("corpus.jsonl")
SHARED = Path(__file__).parents[3] / ".." / "shared" / "corpus" / "joinlinks.jsonl"
CORPUS = SHARED if SHARED.exists() else COPY
RECORDS: list[dict[str, Any]] = [
    json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()
]


@pytest.mark.parametrize("record", RECORDS, ids=[record["id"] for record in RECORDS])
def test_corpus_invite_gives_the_expected_result(record: dict[str, Any]) -> None:
    found = detect_join(record["location"], record["body"], record["body_format"])
    assert join_record(found) == record["expected"], record["notes"]
