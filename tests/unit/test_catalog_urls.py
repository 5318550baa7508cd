"""MLRun's store:// reference forms that tests/unit/test_urls.py does not cover yet, and the
project-folder form (``store://<kind>/<project>/``) that listing uses."""

from __future__ import annotations

import pytest

from orchestore import ArtifactRef, InvalidURLError, parse_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("store://p/k#2", ArtifactRef("p", "k", iteration=2)),
        ("store://p/k@a1b2c3", ArtifactRef("p", "k", tree="a1b2c3")),
        ("store://p/k^0123abcd", ArtifactRef("p", "k", uid="0123abcd")),
        ("store://p/k#0:latest", ArtifactRef("p", "k", iteration=0, tag="latest")),
        ("store://p/k:v1@t1", ArtifactRef("p", "k", tag="v1", tree="t1")),
        ("store://p/k#1@t1^ff", ArtifactRef("p", "k", iteration=1, tree="t1", uid="ff")),
        (
            "store://artifacts/my-proj/my_key.v2.csv:prod",
            ArtifactRef("my-proj", "my_key.v2.csv", tag="prod"),
        ),
        ("store://datasets/p/k:v1^abc", ArtifactRef("p", "k", "datasets", tag="v1", uid="abc")),
        ("store://artifacts/p/", ArtifactRef("p", "", "artifacts")),
        ("store://models/p/", ArtifactRef("p", "", "models")),
    ],
)
def test_mlrun_reference_forms(url: str, expected: ArtifactRef) -> None:
    parsed = parse_url(url)
    assert parsed.artifact == expected
    assert parse_url(str(parsed)) == parsed  # the canonical form parses back to the same


@pytest.mark.parametrize(
    ("url", "part"),
    [
        ("store://artifacts//", "project"),
        ("store://artifacts/Bad/", "project 'Bad'"),
        ("store://things/p/", "kind 'things'"),
        ("store://p/k#", "iter"),
        ("store://p/k^", "uid"),
    ],
)
def test_malformed_references_name_the_part(url: str, part: str) -> None:
    with pytest.raises(InvalidURLError, match=part):
        parse_url(url)
