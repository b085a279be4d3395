"""The code of a step made on the canvas: a short code cell inside a small complete app.

The app reads its topics from its own entry in headwater.yaml, so connecting it to another topic
on the canvas (a commit to headwater.yaml) changes what it reads and writes, with no code edit.
"""

from __future__ import annotations

import ast

from headwater.platform.errors import Invalid

CELL_FUNCTION = "transform"
DEFAULT_CELL = '''def transform(df: pd.DataFrame) -> pd.DataFrame:
    """One micro-batch of records as a pandas DataFrame; the records returned are written on."""
    return df
'''

_APP = '''"""{app}: a step of {project} made on the pipeline canvas.

It reads the topics its entry in headwater.yaml lists as inputs and writes what `transform`
returns to each of its outputs: connect it to other topics on the canvas, and it follows.
"""

from pathlib import Path

import pandas as pd
import yaml

from headwater import App

MANIFEST = Path(__file__).resolve().parent / "headwater.yaml"
ENTRY = next(a for a in yaml.safe_load(MANIFEST.read_text())["apps"] if a["name"] == "{app}")

# The app's name is its consumer group and names its dead-letter topic ({group}.dlq).
app = App("{group}")


{cell}

outputs = [app.topic(name, value="json") for name in ENTRY.get("outputs") or []]
for name in ENTRY["inputs"]:
    sdf = app.dataframe(app.topic(name, value="json"))
    sdf = sdf.map_batches({function}, format="pandas")
    for topic in outputs:
        sdf.to_topic(topic)

if __name__ == "__main__":
    app.run()
'''


def check_cell(cell: str) -> None:
    """Invalid unless ``cell`` is Python that defines ``transform`` at its top level."""
    try:
        tree = ast.parse(cell)
    except SyntaxError as exc:
        message = f"line {exc.lineno}: {exc.msg}"
        raise Invalid(
            f"the code cell is not valid Python: {message}",
            [{"field": "edit.cell", "message": message}],
        ) from None
    names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    if CELL_FUNCTION not in names:
        message = f"define `def {CELL_FUNCTION}(df: pd.DataFrame) -> pd.DataFrame:` in the cell"
        raise Invalid(message, [{"field": "edit.cell", "message": message}])


def cell_app(project: str, app: str, cell: str) -> bytes:
    """The file of app ``app`` of ``project`` around the code cell ``cell``."""
    check_cell(cell)
    text = _APP.format(
        app=app,
        project=project,
        group=f"{project}-{app}",
        cell=cell.strip("\n"),
        function=CELL_FUNCTION,
    )
    return text.encode("utf-8")
