from tests.graphql_client import GraphQLClient
from tests.world import World

ME = "{ me { id username } }"
CREATE_PROJECT = """
mutation($name: String!) {
  createProject(input: {name: $name}) {
    __typename
    ... on ProjectPayload { project { id name owner { username } } }
    ... on Error { code message field }
  }
}
"""


def test_logged_in_user_creates_and_lists_a_project(api: GraphQLClient, world: World) -> None:
    lab = world.group("lab")
    alice = world.user("alice", lab)
    token = world.token(alice)

    assert api.data(ME, token)["me"]["username"] == "alice"
    created = api.data(CREATE_PROJECT, token, name="Mitosis")["createProject"]

    assert created["__typename"] == "ProjectPayload"
    assert created["project"]["name"] == "Mitosis"
    listed = api.data("{ projects { totalCount nodes { id name } } }", token)["projects"]
    assert listed["totalCount"] == 1
    assert listed["nodes"] == [{"id": created["project"]["id"], "name": "Mitosis"}]
