"""What a figure, an image, a table or a text becomes as stored bytes.

Each function turns one kind of object into :class:`Payload` values (bytes with their
file suffix and media type), the first one the artifact itself and the others its
alternative forms. The bytes are deterministic: the same figure, image or table gives
the same bytes again, so logging it twice stores one file (the store is content
addressed). A figure or a PIL image is written by its own library; an array is written
as PNG here, with zlib, so no imaging library is needed.

    payloads = figure_payloads(fig)     # matplotlib: PNG (+ SVG when small); plotly: JSON + HTML
    png = image_png(array)              # numpy HxW, HxWx3, HxWx4 (uint8 or float 0..1), PIL
    data, preview = table_payloads(df)  # parquet (csv without pyarrow) + its first rows as JSON
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import sys
import zlib
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError

# A matplotlib figure with more points than this is stored as PNG only: its SVG would
# be large and slow to write and to show.
SVG_MAX_POINTS = 20_000
# The rows of a table a page shows.
PREVIEW_ROWS = 20


@dataclass(frozen=True)
class Payload:
    """Bytes to store, with the suffix of their file name and their media type."""

    suffix: str
    media_type: str
    data: bytes


# -- figures ----------------------------------------------------------------------------------


def matplotlib_figure(obj: Any) -> Any | None:
    """The matplotlib Figure ``obj`` is or holds (an Axes, a seaborn grid), else None."""
    figure_module = sys.modules.get("matplotlib.figure")
    if figure_module is None:
        return None
    figure_class = figure_module.Figure
    if isinstance(obj, figure_class):
        return obj
    for attribute in ("figure", "fig"):
        held = getattr(obj, attribute, None)
        if isinstance(held, figure_class):
            return held
    return None


def is_plotly_figure(obj: Any) -> bool:
    return type(obj).__module__.startswith("plotly.") and hasattr(obj, "to_plotly_json")


def figure_payloads(figure: Any) -> tuple[Payload, ...]:
    """A matplotlib figure as PNG (and SVG when it has few points), a plotly figure as its
    JSON and a standalone HTML page (the plotly.js of a CDN): no kaleido needed."""
    found = matplotlib_figure(figure)
    if found is not None:
        return _matplotlib_payloads(found)
    if is_plotly_figure(figure):
        return _plotly_payloads(figure)
    raise InvalidInputError(
        f"Cannot log an object of type {type(figure).__module__}.{type(figure).__qualname__}"
        " as a figure",
        hint="Give a matplotlib Figure or Axes, or a plotly Figure; log_image takes arrays.",
    )


def _matplotlib_payloads(figure: Any) -> tuple[Payload, ...]:
    matplotlib = sys.modules["matplotlib"]  # loaded: the figure is one of its objects

    png = io.BytesIO()
    figure.savefig(png, format="png", bbox_inches="tight")
    payloads = [Payload(".png", "image/png", png.getvalue())]
    if _svg_is_cheap(figure):
        svg = io.BytesIO()
        # a fixed salt and no date: the same figure gives the same SVG
        with matplotlib.rc_context({"svg.hashsalt": "jupyter-mlops"}):
            figure.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None})
        payloads.append(Payload(".svg", "image/svg+xml", svg.getvalue()))
    return tuple(payloads)


def _svg_is_cheap(figure: Any) -> bool:
    """Whether the figure draws few enough points (and no raster image) for an SVG."""
    points = 0
    for axes in figure.get_axes():
        if axes.images:
            return False
        for line in axes.get_lines():
            points += len(line.get_xydata())
        for collection in axes.collections:
            points += len(collection.get_offsets()) + len(collection.get_paths())
        if points > SVG_MAX_POINTS:
            return False
    return True


def _plotly_payloads(figure: Any) -> tuple[Payload, ...]:
    text = figure.to_json()
    data = text.encode("utf-8")
    # plotly names the page's div at random; named after the content, the page is stable
    div = "plot-" + hashlib.sha256(data).hexdigest()[:16]
    page = figure.to_html(include_plotlyjs="cdn", full_html=True, div_id=div)
    return (
        Payload(".plotly.json", "application/vnd.plotly.v1+json", data),
        Payload(".html", "text/html", page.encode("utf-8")),
    )


# -- images -----------------------------------------------------------------------------------


def image_png(image: Any) -> bytes:
    """An image as PNG bytes: a PIL image (saved by PIL), or a numpy array of shape HxW
    (grey), HxWx3 (RGB) or HxWx4 (RGBA), of uint8 or of floats between 0 and 1 (written
    here, with zlib: no imaging library needed)."""
    pil = sys.modules.get("PIL.Image")
    if pil is not None and isinstance(image, pil.Image):
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()
    return encode_png(_pixels(image))


def encode_png(pixels: Any) -> bytes:
    """PNG bytes of a uint8 array HxW, HxWx3 or HxWx4: 8 bits per channel, no filter,
    zlib level 6, no timestamp, so the same pixels always give the same bytes."""
    import numpy as np

    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    colour = {1: 0, 3: 2, 4: 6}[channels]  # grey, RGB, RGBA
    rows = np.ascontiguousarray(pixels).reshape(height, -1)
    # each scanline starts with its filter type: 0, none
    raw = np.hstack([np.zeros((height, 1), dtype=np.uint8), rows]).tobytes()

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"IDAT", zlib.compress(raw, 6)),
            chunk(b"IEND", b""),
        )
    )


def _pixels(image: Any) -> Any:
    """``image`` as a uint8 array of shape HxW, HxWx3 or HxWx4, or a clear error."""
    import numpy as np

    try:
        array = np.asarray(image)
    except Exception as exc:  # noqa: BLE001 - whatever it is, it is not pixels
        raise InvalidInputError(f"Cannot read an image from {type(image).__name__}: {exc}") from exc
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))) or 0 in array.shape:
        raise InvalidInputError(
            f"An image of shape {array.shape} cannot be stored",
            hint="Give an array of shape HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA).",
        )
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all() or array.min() < 0.0 or array.max() > 1.0:
            raise InvalidInputError(
                "An image of floats must hold values between 0 and 1 (and no NaN)",
                hint="Scale it to 0..1, or give uint8 values 0..255.",
            )
        return np.round(array * 255.0).astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer):
        if array.min() < 0 or array.max() > 255:
            raise InvalidInputError(
                f"An image of {array.dtype} must hold values between 0 and 255",
                hint="Give uint8 values 0..255, or floats between 0 and 1.",
            )
        return array.astype(np.uint8)
    raise InvalidInputError(
        f"An image of {array.dtype} cannot be stored", hint="Give uint8 or float pixels."
    )


# -- tables -----------------------------------------------------------------------------------


def table_payloads(table: Any, *, csv: bool = False) -> tuple[Payload, bytes]:
    """A table (a DataFrame, or what ``pandas.DataFrame`` takes) as parquet, or CSV when
    asked, when pyarrow is missing or when parquet cannot hold it; and its first
    :data:`PREVIEW_ROWS` rows as JSON (``columns``, ``dtypes``, ``rows``, ``total_rows``)."""
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        if hasattr(table, "to_pandas"):  # polars, pyarrow
            table = table.to_pandas()
        if isinstance(table, pd.Series):
            table = table.to_frame()
        elif not isinstance(table, pd.DataFrame):
            try:
                table = pd.DataFrame(table)
            except (ValueError, TypeError) as exc:
                raise InvalidInputError(
                    f"Cannot log an object of type {type(table).__name__} as a table: {exc}",
                    hint="Give a pandas DataFrame, or a dict of columns or a list of rows.",
                ) from exc
    data = None if csv else _parquet(table)
    if data is None:
        payload = Payload(".csv", "text/csv", table.to_csv(index=True).encode("utf-8"))
    else:
        payload = Payload(".parquet", "application/vnd.apache.parquet", data)
    return payload, table_preview(table)


def _parquet(frame: Any) -> bytes | None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    out = io.BytesIO()
    try:
        frame.to_parquet(out)
    except Exception:  # noqa: BLE001 - mixed or non-text column names: CSV holds them
        return None
    return out.getvalue()


def table_preview(frame: Any) -> bytes:
    """The first rows of ``frame`` as JSON, what a page shows of a table."""
    head = frame.head(PREVIEW_ROWS)
    split = json.loads(head.to_json(orient="split", date_format="iso", default_handler=str))
    preview = {
        "columns": [str(c) for c in frame.columns],
        "dtypes": [str(t) for t in frame.dtypes],
        "rows": split["data"],
        "total_rows": len(frame),
    }
    return json.dumps(preview, sort_keys=True).encode("utf-8")


# -- text -------------------------------------------------------------------------------------


def text_bytes(text: Any) -> bytes:
    if not isinstance(text, str):
        raise InvalidInputError(
            f"log_text takes a str, not {type(text).__name__}",
            hint="Format it first, or log a file with log_artifact.",
        )
    return text.encode("utf-8")
