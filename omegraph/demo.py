"""Demo images for ``omegraph serve --demo``: generated here (no downloads), imported by the
normal import pipeline as the demo user, so a newcomer sees real multi-channel images,
thumbnails and a pyramid within seconds of the first start."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile
from numpy.typing import NDArray
from PIL import Image as PILImage
from sqlalchemy import select
from sqlalchemy.orm import Session

from resolvers.imports.requests import DuplicatePolicy, FileDeclaration, ImportLimits, create_import
from resolvers.sessions import load_actor
from store.models import Dataset, Experimenter, Job

DEMO_DIR = "demo-files"
LARGE_SIDE = 4608  # above OMERO's 3192-pixel threshold: the demo shows a pyramid being built


def _blobs(rng: np.random.Generator, shape: tuple[int, int], count: int, radius: float,
           ) -> NDArray[np.float32]:
    """Soft round spots, like stained nuclei or vesicles, in [0, 1]."""
    height, width = shape
    field = np.zeros(shape, np.float32)
    ys, xs = np.ogrid[:height, :width]
    for cy, cx, r in zip(rng.uniform(0, height, count), rng.uniform(0, width, count),
                         rng.uniform(0.6 * radius, 1.4 * radius, count), strict=True):
        y0, y1 = max(int(cy - 3 * r), 0), min(int(cy + 3 * r), height)
        x0, x1 = max(int(cx - 3 * r), 0), min(int(cx + 3 * r), width)
        patch = np.exp(-((ys[y0:y1] - cy) ** 2 + (xs[:, x0:x1] - cx) ** 2) / (2 * r * r))
        field[y0:y1, x0:x1] = np.maximum(field[y0:y1, x0:x1], patch)
    return field


def _to_uint16(field: NDArray[np.float32], rng: np.random.Generator,
               peak: int) -> NDArray[np.uint16]:
    noisy = field * peak + rng.normal(100, 20, field.shape)
    return np.clip(noisy, 0, 65535).astype(np.uint16)


def write_cells(path: Path, rng: np.random.Generator) -> None:
    """A 3-channel, 5-plane z-stack of 'cells': nuclei, cytoplasm, spots; OME metadata."""
    shape = (512, 512)
    nuclei = _blobs(rng, shape, 40, 14)
    cytoplasm = np.clip(_blobs(rng, shape, 40, 30) * 0.6 + nuclei * 0.2, 0, 1)
    spots = _blobs(rng, shape, 300, 2.5)
    planes = []
    for z in range(5):
        focus = np.exp(-((z - 2) ** 2) / 4)
        planes.append([_to_uint16(layer * focus, rng, peak)
                       for layer, peak in ((nuclei, 3000), (cytoplasm, 1500), (spots, 6000))])
    tifffile.imwrite(path, np.asarray(planes), ome=True, photometric="minisblack",
                     metadata={"axes": "ZCYX", "PhysicalSizeX": 0.325, "PhysicalSizeY": 0.325,
                               "PhysicalSizeZ": 1.0,
                               "Channel": {"Name": ["DAPI", "GFP", "mCherry"],
                                           "Color": [0x0000FFFF, 0x00FF00FF, -16776961]}})


def write_large(path: Path, rng: np.random.Generator, side: int = LARGE_SIDE) -> None:
    """A large 2-channel 'tissue' section, tiled but without a pyramid (built at import)."""
    coarse = _blobs(rng, (side // 16, side // 16), 250, 6)
    tissue = np.kron(coarse, np.ones((16, 16), np.float32))
    detail = _blobs(rng, (side // 4, side // 4), 2500, 2)
    cells = np.kron(detail, np.ones((4, 4), np.float32))
    data = np.stack([(np.clip(tissue * 200 + rng.normal(10, 4, tissue.shape), 0, 255)),
                     (np.clip(cells * tissue * 255, 0, 255))]).astype(np.uint8)
    tifffile.imwrite(path, data, ome=True, photometric="minisblack", tile=(512, 512),
                     compression="zlib",
                     metadata={"axes": "CYX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5,
                               "Channel": {"Name": ["Autofluorescence", "Marker"]}})


def write_timelapse(path: Path, rng: np.random.Generator) -> None:
    """An ImageJ hyperstack: 8 time points of a moving spot."""
    frames = []
    for t in range(8):
        field = _blobs(np.random.default_rng(5), (256, 256), 12, 10)
        frames.append(_to_uint16(np.roll(field, 12 * t, axis=1), rng, 2000))
    tifffile.imwrite(path, np.asarray(frames), imagej=True,
                     resolution=(1 / 0.2, 1 / 0.2),
                     metadata={"axes": "TYX", "unit": "um", "finterval": 30.0})


def write_rgb(path: Path, rng: np.random.Generator) -> None:
    """A brightfield-like RGB PNG."""
    tone = _blobs(rng, (384, 512), 60, 20)
    rgb = np.stack([230 - tone * 90, 220 - tone * 140, 235 - tone * 40], axis=-1)
    PILImage.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(path)


WRITERS = {"cells-zstack.ome.tif": write_cells, "tissue-large.ome.tif": write_large,
           "timelapse.tif": write_timelapse, "brightfield.png": write_rgb}


def queue_demo_import(db: Session, data_dir: Path, username: str = "demo") -> Job | None:
    """Generate the demo files and queue their import into the demo user's dataset; the
    server's job threads (or workers) run it. None when the demo images were queued before."""
    user = db.scalar(select(Experimenter).where(Experimenter.username == username))
    dataset = db.scalar(select(Dataset).where(Dataset.owner_id == (user.id if user else -1),
                                              Dataset.name == "Demo dataset"))
    if user is None or dataset is None:
        return None
    if db.scalar(select(Job.id).where(Job.owner_id == user.id, Job.job_kind == "import")):
        return None
    folder = data_dir / DEMO_DIR
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2024)
    files = []
    for name, write in WRITERS.items():
        path = folder / name
        if not path.exists():
            write(path, rng)
        files.append(FileDeclaration(name, path.stat().st_size, source=path))
    return create_import(db, load_actor(db, user), f"Dataset:{dataset.id}", files,
                         DuplicatePolicy.SKIP, ImportLimits())
