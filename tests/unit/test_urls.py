"""URL parsing: every scheme's good forms, every bad form's named part, and round trips."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestore import ArtifactRef, InvalidURLError, StoreURL, parse_url
from orchestore.urls import SCHEMES


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/abs/path/data.csv", StoreURL(scheme="", path="/abs/path/data.csv")),
        ("relative/data.csv", StoreURL(scheme="", path="relative/data.csv")),
        ("file:///abs/path", StoreURL(scheme="file", path="/abs/path")),
        ("file://localhost/abs/path", StoreURL(scheme="file", path="/abs/path")),
        ("http://example.com", StoreURL(scheme="http", host="example.com")),
        (
            "https://Example.com:8443/a/b.csv?x=1#frag",
            StoreURL(scheme="https", host="example.com", port=8443, path="/a/b.csv", query="x=1"),
        ),
        ("http://[::1]:8080/x", StoreURL(scheme="http", host="[::1]", port=8080, path="/x")),
        (
            "s3://bucket/key/with spaces?and#hash",
            StoreURL(scheme="s3", bucket="bucket", path="key/with spaces?and#hash"),
        ),
        ("s3://bucket", StoreURL(scheme="s3", bucket="bucket")),
        ("S3://bucket/k", StoreURL(scheme="s3", bucket="bucket", path="k")),
        (
            "v3io:///bigdata/path/x.csv",
            StoreURL(scheme="v3io", bucket="bigdata", path="path/x.csv"),
        ),
        ("v3io://bigdata/path/x.csv", StoreURL(scheme="v3io", bucket="bigdata", path="path/x.csv")),
        (
            "v3ios://webapi.example.com:8444/users/admin/x",
            StoreURL(
                scheme="v3ios", host="webapi.example.com", port=8444, bucket="users", path="admin/x"
            ),
        ),
        (
            "v3io://localhost:8081/c/p",
            StoreURL(scheme="v3io", host="localhost", port=8081, bucket="c", path="p"),
        ),
        (
            "az://container/dir/blob.parquet",
            StoreURL(scheme="az", bucket="container", path="dir/blob.parquet"),
        ),
        (
            "abfss://cont@acct.dfs.core.windows.net/dir/f",
            StoreURL(scheme="abfss", bucket="cont", host="acct.dfs.core.windows.net", path="dir/f"),
        ),
        (
            "wasbs://cont@acct.blob.core.windows.net/f",
            StoreURL(scheme="wasbs", bucket="cont", host="acct.blob.core.windows.net", path="f"),
        ),
        ("gs://bucket/obj", StoreURL(scheme="gs", bucket="bucket", path="obj")),
        ("gcs://bucket/obj", StoreURL(scheme="gcs", bucket="bucket", path="obj")),
        ("memory://key", StoreURL(scheme="memory", path="key")),
        ("memory://dir/key.csv", StoreURL(scheme="memory", path="dir/key.csv")),
        (
            "store://proj/model",
            StoreURL(scheme="store", artifact=ArtifactRef(project="proj", key="model")),
        ),
        (
            "store://models/proj/clf#3:prod@tree1^abc123",
            StoreURL(
                scheme="store",
                artifact=ArtifactRef(
                    project="proj",
                    key="clf",
                    kind="models",
                    iteration=3,
                    tag="prod",
                    tree="tree1",
                    uid="abc123",
                ),
            ),
        ),
        (
            "store://datasets/p-1/raw.csv:latest",
            StoreURL(
                scheme="store",
                artifact=ArtifactRef(project="p-1", key="raw.csv", kind="datasets", tag="latest"),
            ),
        ),
    ],
)
def test_parses(url: str, expected: StoreURL) -> None:
    assert parse_url(url) == expected


def test_families_cover_the_product() -> None:
    assert set(SCHEMES.values()) == {
        "file",
        "http",
        "s3",
        "v3io",
        "azure",
        "gcs",
        "store",
        "memory",
    }
    assert parse_url("gcs://b/o").family == "gcs"
    assert parse_url("/x").family == "file"


def test_path_like_and_store_url_inputs() -> None:
    assert parse_url(Path("/tmp/x.csv")) == StoreURL(scheme="", path="/tmp/x.csv")
    parsed = parse_url("s3://b/k")
    assert parse_url(parsed) is parsed
    with pytest.raises(TypeError, match="int"):
        parse_url(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("", "empty"),
        (" s3://b/k", "whitespace"),
        ("s3://b/k\n", "whitespace"),
        ("s3://b/k\x00x", "control character"),
        ("ftp://host/file", "unknown scheme 'ftp'"),
        ("ftp://host/file", "s3://"),  # lists the supported ones
        ("s3:/bucket/key", "'s3://'"),
        ("s3://", "missing bucket"),
        ("s3:///key", "missing bucket"),
        ("gs:///obj", "missing bucket"),
        ("az:///blob", "missing container"),
        ("v3io:///", "missing container"),
        ("s3://bad bucket/k", "bucket name 'bad bucket'"),
        ("http://", "missing host"),
        ("http://host:99999/x", "port '99999'"),
        ("http://host:abc/x", "port 'abc'"),
        ("http://bad host/x", "host 'bad host'"),
        ("file://otherhost/x", "remote host 'otherhost'"),
        ("file://", "absolute path"),
        ("memory://", "missing key"),
        ("memory:///", "missing key"),
        ("store://onlyproject", "malformed store:// reference"),
        ("store://a/b/c/d", "malformed store:// reference"),
        ("store://things/p/k", "unknown artifact kind 'things'"),
        ("store://Bad_Project/k", "invalid project 'Bad_Project'"),
        ("store://p/", "key"),
        ("store://p/#1", "key"),
        ("store://p/k#one", "iter '#one'"),
        ("store://p/k:", "tag ''"),
        ("store://p/k:bad tag", "tag 'bad tag'"),
        ("store://p/k@", "tree ''"),
        ("store://p/k^not-hex!", "uid"),
    ],
)
def test_bad_input_names_the_part(url: str, named: str) -> None:
    with pytest.raises(InvalidURLError) as raised:
        parse_url(url)
    assert named in str(raised.value)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    "url",
    [
        "s3://AKIAEXAMPLEKEY:wJalrXUtnFEMIsecretKEY@bucket/key",
        "s3://AKIAEXAMPLEKEY@bucket/key",
        "gs://user:wJalrXUtnFEMIsecretKEY@bucket/o",
        "https://user:wJalrXUtnFEMIsecretKEY@example.com/file",
        "az://acct:wJalrXUtnFEMIsecretKEY@container/blob",
        "v3io://user:wJalrXUtnFEMIsecretKEY@host.example.com/c/p",
    ],
)
def test_embedded_credentials_are_rejected_without_echo(url: str) -> None:
    with pytest.raises(InvalidURLError, match="credentials embedded") as raised:
        parse_url(url)
    text = f"{raised.value} {raised.value!r} {raised.value.url} {raised.value.args}"
    assert "wJalrXUtnFEMIsecretKEY" not in text
    assert "AKIAEXAMPLEKEY" not in text


def test_display_redacts_signatures_but_str_keeps_them() -> None:
    url = parse_url("https://host/obj?X-Amz-Signature=abcdef&X-Amz-Expires=60&sig=xyz")
    assert url.display() == "https://host/obj?X-Amz-Signature=***&X-Amz-Expires=60&sig=***"
    assert "abcdef" in str(url)


def test_names_suffixes_and_children() -> None:
    url = parse_url("s3://b/dir/Data.CSV")
    assert (url.name, url.suffix, url.key) == ("Data.CSV", ".csv", "dir/Data.CSV")
    assert parse_url("s3://b/dir/").name == ""
    assert str(parse_url("s3://b/dir").child("x.bin")) == "s3://b/dir/x.bin"
    assert str(parse_url("https://h/a?q=1").child("b")) == "https://h/a/b"
    assert parse_url("store://p/model.pkl").suffix == ".pkl"


def test_store_url_is_immutable_and_picklable() -> None:
    url = parse_url("store://models/p/k#2:v1")
    with pytest.raises(AttributeError):
        url.path = "x"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(url)) == url
    assert hash(url) == hash(parse_url("store://models/p/k#2:v1"))


# -- round trips: parse(format(url)) == url ----------------------------------------------------
_segment = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.~ ", min_size=1, max_size=12
).filter(lambda s: s.strip() == s and s not in (".", ".."))
_key = st.lists(_segment, min_size=1, max_size=4).map("/".join)
_bucket = st.from_regex(r"[a-z0-9][a-z0-9.-]{2,20}", fullmatch=True)
_host = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){1,2}", fullmatch=True)
_port = st.none() | st.integers(1, 65535)
_name = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,15}", fullmatch=True)
_project = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)

_urls = st.one_of(
    st.builds(lambda p: StoreURL(scheme="", path="/" + p), _key),
    st.builds(lambda p: StoreURL(scheme="file", path="/" + p), _key),
    st.builds(
        lambda s, h, port, p, q: StoreURL(scheme=s, host=h, port=port, path="/" + p, query=q),
        st.sampled_from(["http", "https"]),
        _host,
        _port,
        _key,
        st.sampled_from(["", "a=1", "a=1&b=two"]),
    ),
    st.builds(
        lambda s, b, k: StoreURL(scheme=s, bucket=b, path=k),
        st.sampled_from(["s3", "gs", "gcs", "az"]),
        _bucket,
        _key | st.just(""),
    ),
    st.builds(
        lambda s, b, h, k: StoreURL(scheme=s, bucket=b, host=h, path=k),
        st.sampled_from(["abfs", "abfss", "wasb", "wasbs"]),
        _bucket,
        _host,
        _key,
    ),
    st.builds(
        lambda s, h, port, b, k: StoreURL(scheme=s, host=h, port=port, bucket=b, path=k),
        st.sampled_from(["v3io", "v3ios"]),
        _host | st.just(""),
        _port,
        _bucket,
        _key,
    ).filter(lambda u: u.host or u.port is None),
    st.builds(lambda k: StoreURL(scheme="memory", path=k), _key),
    st.builds(
        lambda kind, project, key, iteration, tag, tree, uid: StoreURL(
            scheme="store",
            artifact=ArtifactRef(
                project=project,
                key=key,
                kind=kind,
                iteration=iteration,
                tag=tag,
                tree=tree,
                uid=uid,
            ),
        ),
        st.sampled_from(["artifacts", "datasets", "models"]),
        _project,
        _name,
        st.none() | st.integers(0, 10_000),
        st.none() | _name,
        st.none() | _name,
        st.none() | st.from_regex(r"[a-f0-9]{1,40}", fullmatch=True),
    ),
)


@given(_urls)
def test_round_trip(url: StoreURL) -> None:
    assert parse_url(str(url)) == url
