"""The live widgets of python/05 (per-thread bars, replay) leave a static picture of what they
showed in the executed notebook, so that nbconvert's HTML, nbgrader's feedback and nbval see
it, while JupyterLab still shows the live widget (issue 28 §4)."""

import base64
import re

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from parlab import widgets

WIDGET = "application/vnd.jupyter.widget-view+json"
SVG = "image/svg+xml"

CELLS = [
    "from parlab import widgets\n"
    "run = widgets.live_render(width=120, height=90, tile_w=30, tile_h=30, max_iter=100, strategy='static', threads=2)",
    "widgets.replay(run, frames=5)",
]


@pytest.fixture(scope="module")
def executed():
    """The two widget cells, run headless by nbclient as nbval and nbgrader run them."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    return notebook


def rich_outputs(cell):
    return [output for output in cell.outputs if output.output_type in ("display_data", "execute_result")]


def test_the_live_bars_keep_their_widget_and_leave_a_picture_of_the_end(executed):
    (bars,) = rich_outputs(executed.cells[0])
    assert WIDGET in bars.data, "the live widget is still what JupyterLab shows"
    picture = bars.data[SVG]
    # The final state, not the empty bars of the start: the run's summary and its tiles.
    assert "static: 12/12 tiles in" in picture
    counts = [int(n) for n in re.findall(r">(\d+) tiles<", picture)]
    assert len(counts) == 2 and sum(counts) == 12, counts


def test_the_replay_leaves_its_final_frame_and_bars(executed):
    (replay,) = rich_outputs(executed.cells[1])
    assert WIDGET in replay.data
    picture = replay.data[SVG]
    assert "data:image/png;base64,iVBORw0KGgo" in picture, "the image as the replay ends on it"
    assert "12/12 tiles" in picture
    assert sum(int(n) for n in re.findall(r">(\d+) tiles<", picture)) == 12


def test_html_without_the_kernels_widgets_shows_the_pictures(executed):
    """nbconvert (and nbgrader's feedback, an HTML export) shows a widget only from a stored
    widget state, which needs the widgets' JavaScript from the network; without it, the picture."""
    notebook = nbformat.from_dict(executed)
    notebook.metadata.pop("widgets", None)
    for template in ("lab", "classic"):  # nbgrader's feedback extends the classic template
        body, _ = HTMLExporter(template_name=template).from_notebook_node(notebook)
        pictures = [
            base64.b64decode(data).decode() for data in re.findall(r"data:image/svg\+xml;base64,([^\"']+)", body)
        ]
        pictures += re.findall(r"<svg.*?</svg>", body, flags=re.S)
        pictures = [picture for picture in pictures if " tiles</text>" in picture]  # not the page's icons
        assert len(pictures) == 2, f"{template}: {len(pictures)} pictures"
        assert "static: 12/12 tiles in" in pictures[0]
        assert "data:image/png;base64," in pictures[1]


def test_the_picture_escapes_its_text_and_scales_its_bars():
    svg = widgets.bars_svg([3, 1], total=4, status="a<b & c")
    assert "a&lt;b &amp; c" in svg
    assert re.findall(r'width="([\d.]+)" height="14" fill="#2196f3"', svg) == ["225.0", "75.0"]
