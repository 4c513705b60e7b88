"""How far above the raw-SQL floor is a page of images through GraphQL?

Builds a scratch database (a SQLite temp file and/or a scratch database on the local
PostgreSQL server, dropped at the end), migrates it, fills it with N images, each with Pixels,
3 Channels, a dataset link, a tag and a map annotation of 3 pairs, all owned by one user in one
group, then times:

* graphql: one page of N images with pixels, channels and annotations (map pairs included),
  POSTed through the real ASGI app (auth middleware, strawberry, JSON encoding) in-process;
* floor:   the Core ``select()``s that fetch the same rows as tuples (image page, pixels of those
  images, channels of those pixels, annotation links, annotations, map values), no GraphQL.

Usage::

    .venv/bin/python bench/graphql_list.py [--images 1000] [--backend sqlite|postgresql|both]
                                           [--repeat 7]

The issue's target is graphql within 3x of the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import logging
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx2
from sqlalchemy import Engine, create_engine, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from omegraph.app import create_app
from omegraph.settings import load_settings
from resolvers.sessions import token_digest
from store.base import utcnow
from store.db import create_db_engine
from store.migrate import upgrade
from store.models import (
    ANNOTATION_LINKS,
    Annotation,
    AuthSession,
    Channel,
    Dataset,
    DatasetImageLink,
    Experimenter,
    ExperimenterGroup,
    GroupMembership,
    Image,
    MapValue,
    PermissionLevel,
    Pixels,
    Project,
    ProjectDatasetLink,
)

POSTGRES_ADMIN_URL = os.environ.get(
    "OMEGRAPH_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

QUERY = """
query Page($n: Int!) {
  images(first: $n) {
    nodes {
      id name description acquisitionDate series created updated
      pixels {
        id sizeX sizeY sizeZ sizeC sizeT pixelType dimensionOrder significantBits
        physicalSizeX { value unit } physicalSizeY { value unit }
        physicalSizeZ { value unit } timeIncrement { value unit }
        channels {
          id index name color fluor
          excitationWavelength { value unit } emissionWavelength { value unit }
        }
      }
      annotations {
        __typename id namespace description
        ... on TagAnnotation { text }
        ... on MapAnnotation { pairs { key value } }
      }
    }
  }
}
"""

ImageLink = ANNOTATION_LINKS[Image]


# --------------------------------------------------------------------------- databases


@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="omegraph-bench-") as directory:
        yield f"sqlite:///{Path(directory) / 'bench.db'}"


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    admin_url = make_url(POSTGRES_ADMIN_URL)
    name = f"omegraph_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


DATABASES: dict[str, Callable[[], contextlib.AbstractContextManager[str]]] = {
    "sqlite": sqlite_database,
    "postgresql": postgres_database,
}


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Fixture:
    token: str
    group_ids: list[int]
    images: int


def _ids(db: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk INSERT ... RETURNING id, ids in the order of ``rows``."""
    result = db.execute(insert(model).returning(model.id, sort_by_parameter_order=True), rows)
    return list(result.scalars())


def fill(engine: Engine, images: int) -> Fixture:
    """One group, one user, one project/dataset and ``images`` fully described images."""
    now = utcnow()
    with Session(engine) as db:
        group = ExperimenterGroup(name="lab", permissions=PermissionLevel.READ_ANNOTATE.value)
        db.add(group)
        db.flush()
        user = Experimenter(username="bench", default_group_id=group.id)
        db.add(user)
        db.flush()
        db.add(GroupMembership(experimenter_id=user.id, group_id=group.id))
        token = secrets.token_urlsafe(32)
        db.add(AuthSession(token_hash=token_digest(token), experimenter_id=user.id, created=now,
                           last_seen=now, expires=now + dt.timedelta(days=1)))
        owned = {"owner_id": user.id, "group_id": group.id}
        project = Project(name="project", **owned)
        dataset = Dataset(name="dataset", **owned)
        db.add_all([project, dataset])
        db.flush()
        db.add(ProjectDatasetLink(parent_id=project.id, child_id=dataset.id, **owned))

        image_ids = _ids(db, Image, [
            {"name": f"image-{i:06d}.tif", "description": "a benchmark image",
             "acquisition_date": now, "series": 0, **owned}
            for i in range(images)
        ])
        pixel_ids = _ids(db, Pixels, [
            {"image_id": image_id, "size_x": 1024, "size_y": 1024, "size_z": 10, "size_c": 3,
             "size_t": 1, "pixel_type": "uint16", "dimension_order": "XYZCT",
             "significant_bits": 12, "physical_size_x": 0.1, "physical_size_x_unit": "µm",
             "physical_size_y": 0.1, "physical_size_y_unit": "µm", "physical_size_z": 0.5,
             "physical_size_z_unit": "µm", **owned}
            for image_id in image_ids
        ])
        db.execute(insert(Channel), [
            {"pixels_id": pixels_id, "index": c, "name": name, "color": color, "fluor": fluor,
             "excitation_wavelength": ex, "excitation_wavelength_unit": "nm",
             "emission_wavelength": em, "emission_wavelength_unit": "nm", **owned}
            for pixels_id in pixel_ids
            for c, (name, color, fluor, ex, em) in enumerate((
                ("DAPI", 0x0000FFFF, "DAPI", 358.0, 461.0),
                ("GFP", 0x00FF00FF, "EGFP", 488.0, 507.0),
                ("mCherry", -16776961, "mCherry", 587.0, 610.0),
            ))
        ])
        db.execute(insert(DatasetImageLink), [
            {"parent_id": dataset.id, "child_id": image_id, **owned} for image_id in image_ids
        ])
        annotation_ids = _ids(db, Annotation, [
            row
            for i in range(images)
            for row in (
                {"kind_name": "tag", "text_value": f"tag-{i % 50}", **owned},
                {"kind_name": "map", "namespace": "openmicroscopy.org/omero/client/mapAnnotation",
                 **owned},
            )
        ])
        db.execute(insert(MapValue), [
            {"annotation_id": annotation_id, "index": k, "key": key, "value": value}
            for annotation_id in annotation_ids[1::2]
            for k, (key, value) in enumerate((("Gene", "CDK5"), ("Organism", "Homo sapiens"),
                                              ("Cell line", "HeLa")))
        ])
        db.execute(insert(ImageLink), [
            {"parent_id": image_id, "annotation_id": annotation_id, **owned}
            for n, image_id in enumerate(image_ids)
            for annotation_id in annotation_ids[2 * n:2 * n + 2]
        ])
        db.commit()
        fixture = Fixture(token=token, group_ids=[group.id], images=images)
    # Planner statistics, as a database in service has them (PostgreSQL's autovacuum would
    # gather them later; without them it joins the annotation links by nested loops).
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    return fixture


# --------------------------------------------------------------------------- the two timings


def floor(engine: Engine, fixture: Fixture) -> int:
    """The same rows as the GraphQL page, fetched as tuples with Core selects; rows fetched."""
    image, pixels, channel = Image.__table__, Pixels.__table__, Channel.__table__
    annotation, link, pair = Annotation.__table__, ImageLink.__table__, MapValue.__table__
    groups = fixture.group_ids
    with engine.connect() as connection:
        images = connection.execute(
            select(image).where(image.c.group_id.in_(groups))
            .order_by(image.c.id).limit(fixture.images + 1)
        ).all()[:fixture.images]
        image_ids = [row.id for row in images]
        pixel_rows = connection.execute(
            select(pixels).where(pixels.c.image_id.in_(image_ids), pixels.c.group_id.in_(groups))
            .order_by(pixels.c.id)
        ).all()
        channel_rows = connection.execute(
            select(channel)
            .where(channel.c.pixels_id.in_([row.id for row in pixel_rows]),
                   channel.c.group_id.in_(groups))
            .order_by(channel.c.index)
        ).all()
        link_rows = connection.execute(
            select(link.c.parent_id, link.c.annotation_id)
            .where(link.c.parent_id.in_(image_ids), link.c.group_id.in_(groups))
        ).all()
        annotation_rows = connection.execute(
            select(annotation)
            .where(annotation.c.id.in_({row.annotation_id for row in link_rows}),
                   annotation.c.group_id.in_(groups))
        ).all()
        pair_rows = connection.execute(
            select(pair).where(pair.c.annotation_id.in_([row.id for row in annotation_rows]))
            .order_by(pair.c.index)
        ).all()
    return (len(images) + len(pixel_rows) + len(channel_rows) + len(link_rows)
            + len(annotation_rows) + len(pair_rows))


def orm_floor(engine: Engine, fixture: Fixture) -> int:
    """The same rows as ORM entities (what a hand-written SQLAlchemy service would load)."""
    groups = fixture.group_ids
    with Session(engine) as db:
        images = list(db.scalars(select(Image).where(Image.group_id.in_(groups))
                                 .order_by(Image.id).limit(fixture.images + 1)))[:fixture.images]
        image_ids = [row.id for row in images]
        pixel_rows = list(db.scalars(select(Pixels).where(
            Pixels.image_id.in_(image_ids), Pixels.group_id.in_(groups)).order_by(Pixels.id)))
        channel_rows = list(db.scalars(select(Channel).where(
            Channel.pixels_id.in_([row.id for row in pixel_rows]),
            Channel.group_id.in_(groups)).order_by(Channel.index)))
        link_rows = list(db.scalars(select(ImageLink).where(
            ImageLink.parent_id.in_(image_ids), ImageLink.group_id.in_(groups))))
        annotation_rows = list(db.scalars(select(Annotation).where(
            Annotation.id.in_({row.annotation_id for row in link_rows}),
            Annotation.group_id.in_(groups))))
        pair_rows = list(db.scalars(select(MapValue).where(
            MapValue.annotation_id.in_([row.id for row in annotation_rows]))
            .order_by(MapValue.index)))
    return (len(images) + len(pixel_rows) + len(channel_rows) + len(link_rows)
            + len(annotation_rows) + len(pair_rows))


async def graphql_page(client: httpx2.AsyncClient, fixture: Fixture) -> bytes:
    response = await client.post(
        "/graphql", json={"query": QUERY, "variables": {"n": fixture.images}},
        headers={"Authorization": f"Bearer {fixture.token}"},
    )
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:500]}")
    return response.content


def check(body: bytes, fixture: Fixture) -> None:
    import json

    payload = json.loads(body)
    if payload.get("errors"):
        raise RuntimeError(f"GraphQL errors: {payload['errors'][:3]}")
    nodes = payload["data"]["images"]["nodes"]
    assert len(nodes) == fixture.images, len(nodes)
    first = nodes[0]
    assert len(first["pixels"]["channels"]) == 3
    assert sorted(a["__typename"] for a in first["annotations"]) == ["MapAnnotation",
                                                                     "TagAnnotation"]
    pairs = next(a["pairs"] for a in first["annotations"] if a["__typename"] == "MapAnnotation")
    assert [p["key"] for p in pairs] == ["Gene", "Organism", "Cell line"]


@dataclass(frozen=True)
class Timing:
    best: float
    median: float


def _timing(samples: list[float]) -> Timing:
    return Timing(best=min(samples) * 1000, median=statistics.median(samples) * 1000)


@contextlib.contextmanager
def gc_frozen(enabled: bool) -> Iterator[None]:
    """Move everything alive now out of the collector's sight, as the server's lifespan does
    with gc.freeze() once started, so full collections walk only newer objects."""
    if enabled:
        gc.collect()
        gc.freeze()
    try:
        yield
    finally:
        if enabled:
            gc.unfreeze()


async def time_graphql(engine: Engine, url: str, fixture: Fixture, repeat: int,
                       data_dir: Path, freeze: bool) -> tuple[Timing, int]:
    settings = load_settings({}, data_dir=data_dir, database_url=url)
    app = create_app(settings, engine=engine)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://bench") as client:
        body = await graphql_page(client, fixture)  # warm-up: schema, statement caches, pool
        check(body, fixture)
        await graphql_page(client, fixture)
        samples = []
        with gc_frozen(freeze):
            for _ in range(repeat):
                start = time.perf_counter()
                await graphql_page(client, fixture)
                samples.append(time.perf_counter() - start)
    return _timing(samples), len(body)


def time_floor(engine: Engine, fixture: Fixture, repeat: int, freeze: bool,
               fetch: Callable[[Engine, Fixture], int] = floor) -> tuple[Timing, int]:
    rows = fetch(engine, fixture)  # warm-up
    fetch(engine, fixture)
    samples = []
    with gc_frozen(freeze):
        for _ in range(repeat):
            start = time.perf_counter()
            fetch(engine, fixture)
            samples.append(time.perf_counter() - start)
    return _timing(samples), rows


@dataclass(frozen=True)
class Result:
    backend: str
    graphql: Timing
    floor: Timing
    orm_floor: Timing
    rows: int
    body_bytes: int
    fill_seconds: float

    @property
    def ratio(self) -> float:
        return self.graphql.median / self.floor.median


def run(backend: str, images: int, repeat: int, freeze: bool) -> Result:
    with DATABASES[backend]() as url, tempfile.TemporaryDirectory() as data_dir:
        engine = create_db_engine(url)
        try:
            upgrade(engine)
            start = time.perf_counter()
            fixture = fill(engine, images)
            filled = time.perf_counter() - start
            floor_timing, rows = time_floor(engine, fixture, repeat, freeze)
            orm_timing, orm_rows = time_floor(engine, fixture, repeat, freeze, orm_floor)
            assert orm_rows == rows, (orm_rows, rows)
            graphql_timing, size = asyncio.run(
                time_graphql(engine, url, fixture, repeat, Path(data_dir) / "data", freeze))
        finally:
            engine.dispose()
    return Result(backend, graphql_timing, floor_timing, orm_timing, rows, size, filled)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=1000, help="images, and the page size")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs after 2 warm-ups")
    parser.add_argument("--no-gc-freeze", dest="gc_freeze", action="store_false",
                        help="skip gc.freeze() after the warm-ups (the server freezes at start)")
    args = parser.parse_args(argv)
    if not 1 <= args.images <= 1000:
        parser.error("--images must be 1..1000 (the server's max_page_size)")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]

    results = []
    for backend in backends:
        print(f"{backend}: filling {args.images} images ...", file=sys.stderr, flush=True)
        results.append(run(backend, args.images, args.repeat, args.gc_freeze))

    frozen = ", gc frozen" if args.gc_freeze else ""
    print(f"\n{args.images} images, {args.repeat} timed runs{frozen} "
          "(ms; median, best in brackets)")
    header = (f"{'backend':<11} {'graphql':>18} {'Core floor':>18} {'ratio':>7} "
              f"{'ORM floor':>18} {'ratio':>7}  {'rows':>6} {'JSON':>9}")
    print(header)
    print("-" * len(header))
    for r in results:
        g = f"{r.graphql.median:8.1f} ({r.graphql.best:6.1f})"
        f = f"{r.floor.median:8.1f} ({r.floor.best:6.1f})"
        o = f"{r.orm_floor.median:8.1f} ({r.orm_floor.best:6.1f})"
        orm_ratio = r.graphql.median / r.orm_floor.median
        print(f"{r.backend:<11} {g:>18} {f:>18} {r.ratio:6.2f}x {o:>18} {orm_ratio:6.2f}x  "
              f"{r.rows:>6} {r.body_bytes / 1024:7.0f}kB")
    print("target: graphql within 3x of the floor (Core: tuples; ORM: mapped entities)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
