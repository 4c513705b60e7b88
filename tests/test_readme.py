"""The README's GraphQL tour runs as written."""

from __future__ import annotations

import re
from pathlib import Path

from resolvers.passwords import hash_password
from store.models import Dataset, Project
from tests.graphql_client import GraphQLClient
from tests.world import World

README = Path(__file__).resolve().parent.parent / "README.md"


def _graphql_blocks() -> list[str]:
    return re.findall(r"```graphql\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_starts_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    first_block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["scripts/demo.sh", "scripts/test.sh"]
    assert text.index(first_block.group(0)) < text.index("OMEGraph is")
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "scripts/test.sh" in ci


def test_graphql_tour_runs_without_errors(api: GraphQLClient, world: World) -> None:
    lab = world.group("demo-lab")
    demo = world.user("demo", lab)
    demo.password_hash = hash_password("demo password")
    world.db.commit()
    project = world.add(Project, demo, lab, name="Demo project")
    dataset = world.add(Dataset, demo, lab, name="Demo dataset")
    # Ids in the README are those of a fresh demo database; sequences here may be further on.
    blocks = [block.replace("Project:1", f"Project:{project.id}")
              .replace("Dataset:1", f"Dataset:{dataset.id}") for block in _graphql_blocks()]
    assert len(blocks) == 4
    imports = [block for block in blocks if "createImport" in block]
    blocks = [block for block in blocks if "createImport" not in block]

    login = api.data(blocks[0].replace("…", "demo password"))["login"]
    assert login["__typename"] == "LoginPayload"
    api.client.cookies.clear()
    token = login["token"]
    listed = api.data(blocks[1], token)
    assert listed["projects"]["nodes"][0]["name"] == "Demo project"
    mutated = api.data(blocks[2], token)
    assert "dataset" in mutated["createDataset"]
    assert "annotation" in mutated["annotate"], mutated
    started = api.data(imports[0], token)["createImport"]
    assert started["job"]["status"] == "UPLOADING", started
    assert started["job"]["files"][0]["uploadPath"].startswith("/uploads/")
