"""Canvas edits planned as file changes against a commit's files, without a server."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from headwater.platform.canvas.code import cell_app
from headwater.platform.canvas.edits import AddStep, Edit, plan_edit
from headwater.platform.errors import Conflict, Invalid
from headwater.platform.projects.manifest import parse_manifest

EDIT: TypeAdapter[Edit] = TypeAdapter(Edit)
SCORE = b"from headwater import App\napp = App('score')\n"


def edit(**fields: object) -> Edit:
    return EDIT.validate_python(fields)


def test_a_step_from_a_code_cell_is_a_file_and_a_manifest_entry() -> None:
    cell = "def transform(df):\n    df['doubled'] = df['amount'] * 2\n    return df\n"
    plan = plan_edit(
        "shop",
        {"score.py": SCORE},
        edit(kind="add_step", name="enrich", inputs=["payments"], outputs=["tx"], cell=cell),
    )
    assert plan.message == "Canvas: add step enrich reading payments"
    code = plan.files["enrich.py"]
    assert code is not None and b"df['doubled'] = df['amount'] * 2" in code
    assert b'App("shop-enrich")' in code
    compile(code, "enrich.py", "exec")
    manifest = plan.files["headwater.yaml"]
    assert manifest is not None
    app = parse_manifest(manifest, {"enrich.py"}).apps[0]
    assert (app.entrypoint, app.inputs, app.outputs) == ("enrich.py", ["payments"], ["tx"])


def test_the_code_cell_app_runs_on_its_manifests_topics(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    plan = plan_edit(
        "shop",
        {},
        edit(
            kind="add_step",
            name="enrich",
            inputs=["payments"],
            outputs=["tx", "audit"],
            cell="def transform(df):\n    df['seen'] = True\n    return df\n",
        ),
    )
    for path, data in plan.files.items():
        assert data is not None
        (folder / path).write_bytes(data)
    from headwater.loader import load_app

    app = load_app(folder / "enrich.py")
    result = app.test({"payments": [{"amount": 3}]})
    assert result.outputs["tx"]["seen"].tolist() == [True]
    assert result.outputs["audit"]["amount"].tolist() == [3]


def test_a_step_from_a_template_lives_in_its_own_folder() -> None:
    plan = plan_edit(
        "shop",
        {},
        edit(
            kind="add_step",
            name="score",
            inputs=["tx"],
            outputs=["scores"],
            source="template",
            template="ml-scoring",
        ),
    )
    assert set(plan.files) == {"score/app.py", "score/model.json", "headwater.yaml"}
    code = plan.files["score/app.py"]
    assert code is not None and b'app.topic("tx"' in code and b'App("shop-score")' in code
    with pytest.raises(Invalid) as caught:
        plan_edit(
            "shop",
            {},
            edit(kind="add_step", name="x", inputs=["a"], source="template", template="demo"),
        )
    assert caught.value.errors[0]["field"] == "edit.template"


def test_a_step_from_an_existing_file() -> None:
    plan = plan_edit(
        "shop",
        {"score.py": SCORE},
        edit(
            kind="add_step",
            name="score",
            inputs=["tx"],
            outputs=["scores"],
            source="file",
            file="score.py",
        ),
    )
    assert set(plan.files) == {"headwater.yaml"}
    with pytest.raises(Invalid) as caught:
        plan_edit(
            "shop",
            {"score.py": SCORE},
            edit(kind="add_step", name="s", inputs=["tx"], source="file", file="nope.py"),
        )
    assert caught.value.errors[0]["field"] == "edit.file"
    assert "score.py" in caught.value.message


def test_a_bad_cell_and_a_taken_name_are_named() -> None:
    with pytest.raises(Invalid) as syntax:
        plan_edit("shop", {}, edit(kind="add_step", name="x", inputs=["a"], cell="def (:"))
    assert syntax.value.errors[0]["field"] == "edit.cell"
    assert "line 1" in syntax.value.message
    with pytest.raises(Invalid) as missing:
        plan_edit("shop", {}, edit(kind="add_step", name="x", inputs=["a"], cell="x = 1\n"))
    assert "def transform" in missing.value.message
    first = plan_edit("shop", {}, edit(kind="add_step", name="x", inputs=["a"]))
    files = {p: d for p, d in first.files.items() if d is not None}
    with pytest.raises(Conflict) as taken:
        plan_edit("shop", files, edit(kind="add_step", name="x", inputs=["b"]))
    assert taken.value.errors[0]["field"] == "edit.name"


def test_removing_a_step_takes_its_code_out_of_the_tree() -> None:
    files: dict[str, bytes] = {}
    for name, inputs in (("enrich", ["payments"]), ("more", ["tx"])):
        plan = plan_edit("shop", files, edit(kind="add_step", name=name, inputs=inputs))
        files.update({p: d for p, d in plan.files.items() if d is not None})
    plan = plan_edit("shop", files, edit(kind="remove_step", app="more"))
    assert plan.files["more.py"] is None
    manifest = plan.files["headwater.yaml"]
    assert manifest is not None
    assert [a.name for a in parse_manifest(manifest).apps] == ["enrich"]
    last = plan_edit(
        "shop", {**files, "headwater.yaml": manifest}, edit(kind="remove_step", app="enrich")
    )
    assert last.files == {"headwater.yaml": None, "enrich.py": None}


def test_resources_need_a_value_and_valid_fields() -> None:
    files = {
        p: d
        for p, d in plan_edit(
            "shop", {}, edit(kind="add_step", name="x", inputs=["a"])
        ).files.items()
        if d is not None
    }
    plan = plan_edit("shop", files, edit(kind="resources", app="x", replicas=2, memory="300Mi"))
    assert plan.message == "Canvas: x runs with replicas 2, memory 300Mi"
    with pytest.raises(Invalid):
        plan_edit("shop", files, edit(kind="resources", app="x"))
    with pytest.raises(ValidationError, match="memory"):
        edit(kind="resources", app="x", memory="lots")
    with pytest.raises(ValidationError, match="replicas"):
        edit(kind="resources", app="x", replicas="2")


def test_an_add_step_reads_a_topic() -> None:
    with pytest.raises(ValidationError, match="inputs"):
        AddStep(kind="add_step", name="x", inputs=[])
    assert cell_app("p", "x", "def transform(df):\n    return df\n").startswith(b'"""x:')
