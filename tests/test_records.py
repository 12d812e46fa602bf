"""The generic JSON -> dataclass reader behind every artifact's loader."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

from phases.artifacts.annotations import (
    ANNOTATIONS,
    AnnotationEvidence,
    Annotations,
    ColumnAnnotation,
    TableAnnotation,
)
from phases.core.errors import StateError
from phases.core.manifest import canonical_json
from phases.core.records import JSON_NAME, OMIT_NONE, dump_json, from_json, load_record, to_json


@dataclass(frozen=True)
class Inner:
    kind: Literal["a", "b"]
    pair: tuple[str, int]


@dataclass(frozen=True)
class Outer:
    name: str
    ratio: float
    inners: tuple[Inner, ...]
    by_name: Mapping[str, Inner]
    maybe: Inner | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def test_round_trip_rebuilds_nested_records(tmp_path: Path) -> None:
    record = Outer("x", 0.5, (Inner("a", ("p", 1)),), {"k": Inner("b", ("q", 2))}, Inner("a", ("r", 3)), {"n": [1]})
    dump_json(tmp_path / "r.json", record)
    assert load_record(Outer, tmp_path / "r.json", "test") == record


@dataclass(frozen=True)
class Spelled:
    from_: str = field(metadata={JSON_NAME: "from"})
    shown: int | None = field(default=None, metadata={OMIT_NONE: True})


def test_field_metadata_renames_a_key_and_leaves_out_an_absent_value(tmp_path: Path) -> None:
    assert to_json(Spelled("a")) == {"from": "a"}
    assert to_json(Spelled("a", 0)) == {"from": "a", "shown": 0}
    dump_json(tmp_path / "s.json", Spelled("b", 3))
    assert (tmp_path / "s.json").read_text() == '{\n  "from": "b",\n  "shown": 3\n}\n'
    assert load_record(Spelled, tmp_path / "s.json", "x") == Spelled("b", 3)
    assert from_json(Spelled, {"from": "c"}) == Spelled("c")


def test_an_integer_is_read_as_a_float_where_the_field_says_float() -> None:
    got = from_json(Outer, {"name": "x", "ratio": 1, "inners": [], "by_name": {}})
    assert got.ratio == 1.0 and isinstance(got.ratio, float)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "x", "ratio": "high", "inners": [], "by_name": {}}, "expected a number"),
        ({"name": "x", "ratio": 1, "inners": [{"kind": "c", "pair": ["p", 1]}], "by_name": {}}, "is not one of"),
        ({"name": "x", "ratio": 1, "inners": [{"kind": "a", "pair": ["p"]}], "by_name": {}}, "expected 2 items"),
        ({"ratio": 1, "inners": [], "by_name": {}}, "name"),
    ],
)
def test_a_file_that_does_not_fit_names_the_phase_to_rerun(tmp_path: Path, data: dict, message: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(__import__("json").dumps(data))
    with pytest.raises(StateError, match=message) as err:
        load_record(Outer, path, "semantic")
    assert "rerun the semantic phase" in str(err.value)


def test_missing_artifact_says_which_phase_produces_it(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="run the semantic phase first"):
        load_record(Outer, tmp_path / "none.json", "semantic")


def test_annotations_round_trip_and_lookups(tmp_path: Path) -> None:
    amount = ColumnAnnotation(
        table="t", column="amt", role="measure", business_name="Amount", concept="amount", concept_confidence=0.8,
        unit="USD", unit_source="typing", aggregation="additive", time_role=None, name_clarity="abbreviated",
        pii=None, references=None, description="An amount.", confidence=0.8, decided_by="inferred",
        evidence=(AnnotationEvidence("name", "token amt expands to amount"),),
    )
    weak = ColumnAnnotation(**{**amount.__dict__, "column": "x", "concept_confidence": 0.3})
    annotations = Annotations(
        source="s", ontologies=("general",), columns=(weak, amount),
        tables={"t": TableAnnotation("t", "fact", "invoice", ("id",), "date", 3, 0.9)},
    )
    dump_json(tmp_path / "annotations.json", annotations)
    loaded = ANNOTATIONS.load(tmp_path / "annotations.json")
    assert loaded == annotations
    assert loaded.column("t", "amt") == amount and loaded.column("t", "nope") is None
    assert [c.column for c in loaded.with_concept("amount")] == ["amt", "x"]  # most confident first


@dataclass(frozen=True)
class _Tree:
    """A record that contains its own type (the converters are looked up lazily)."""

    name: str
    children: tuple[_Tree, ...] = ()
    pair: tuple[int, str] | None = None


def test_a_record_containing_its_own_type_is_read_and_its_errors_named() -> None:
    data = {"name": "a", "children": [{"name": "b", "pair": [1, "x"]}, {"name": "c"}], "unknown": 1}
    assert from_json(_Tree, data) == _Tree("a", (_Tree("b", (), (1, "x")), _Tree("c")))
    with pytest.raises(TypeError, match="fits none of"):
        from_json(_Tree, {"name": "a", "pair": [1, 2]})
    with pytest.raises(TypeError, match="expected str, got 3"):
        from_json(_Tree, {"name": 3})


@pytest.mark.parametrize("data", [
    {"b": [1, 2.5, -0.0, 1e300, True, None, "é\n\"x\"", [], {}], "a": {"z": [[{}]], "y": ()}},
    [], {}, "text", 3, None, [{"k": 1}],
])
def test_canonical_json_spells_plain_data_as_json_dumps_does(data: Any) -> None:
    assert canonical_json(data) == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False,
                                              allow_nan=False) + "\n"


@pytest.mark.parametrize("data", [{"x": float("nan")}, {1: "a"}, {"d": object()}])
def test_canonical_json_leaves_what_is_not_plain_to_json_dumps(data: Any) -> None:
    try:
        expected = json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)):
            canonical_json(data)
    else:
        assert canonical_json(data) == expected
