"""Issue 11, item 13: fuzzing the URL parser and every credential model's ``from_mapping()``.

Any input yields a value or one of our typed errors (OrchestoreError: InvalidURLError,
CredentialsError, ...), never another exception: no IndexError from a parser corner, no raw
pydantic ValidationError, no UnicodeError. Inputs mix random text with the pieces that break
parsers: schemes, ``@``, ``:``, ``[``, ``%``, ``..``, NULs, surrogates, very long names. Error
messages never echo a secret-looking value given to a credential field.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestore import OrchestoreError, parse_url
from orchestore.credentials import (
    AzureCredentials,
    CredentialsModel,
    GCSCredentials,
    HttpCredentials,
    S3Credentials,
    V3ioCredentials,
    VaultConnection,
    VaultSecretRef,
)
from orchestore.stores.retry import RetryPolicy

MODELS: list[type[CredentialsModel]] = [
    AzureCredentials,
    GCSCredentials,
    HttpCredentials,
    S3Credentials,
    V3ioCredentials,
    VaultConnection,
    VaultSecretRef,
]
SCHEMES = ["s3", "az", "abfs", "abfss", "wasb", "wasbs", "gs", "gcs", "v3io", "v3ios", "http"]
SCHEMES += ["https", "file", "memory", "store", "ds", "ftp", "S3", "HTTP", ""]
PIECES = ["://", "/", "//", "@", ":", "[", "]", "%", "%2e", "..", ".", "?", "#", "^", "\x00"]
PIECES += ["\ud800", "\\", " ", "~", "*", "user:pw@", "[::1]", "127.0.0.1", "é", "\n", ":0"]
SECRET = "fuzz-sentinel-8472-secret"
FUZZ = settings(
    max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

url_texts = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda scheme, parts: f"{scheme}://" + "".join(parts),
        st.sampled_from(SCHEMES),
        st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=12)), max_size=12),
    ),
    st.builds(lambda n: "s3://" + "b" * n + "/k", st.integers(0, 300)),
)

values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True),
        st.text(max_size=40),
        st.just(SECRET),
        st.just(""),
        st.just("http://127.0.0.1:9"),
        st.just("arn:aws:iam::1:role/x"),
        st.just('{"type": "service_account"}'),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _keys(model: type[CredentialsModel]) -> st.SearchStrategy[str]:
    known = sorted(model.model_fields) + sorted(model.aliases)
    return st.one_of(st.sampled_from(known), st.text(max_size=20))


def _secret_fields(model: type[CredentialsModel]) -> list[str]:
    return [name for name, info in model.model_fields.items() if "Secret" in str(info.annotation)]


def _revealed(built: CredentialsModel, name: str) -> object:
    value = getattr(built, name)
    return value.get_secret_value() if hasattr(value, "get_secret_value") else value


@given(text=url_texts)
@FUZZ
def test_parse_url_yields_a_url_or_a_typed_error(text: str) -> None:
    try:
        url = parse_url(text)
    except OrchestoreError:
        return
    assert isinstance(str(url), str) and isinstance(url.display(), str)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_from_mapping_yields_a_model_or_a_credentials_error(
    model: type[CredentialsModel], tally: Counter
) -> None:
    outcomes: Counter[str] = Counter()

    @given(data=st.dictionaries(_keys(model), values, max_size=6))
    @FUZZ
    def run(data: dict[str, Any]) -> None:
        shown = ""
        try:
            built = model.from_mapping(data, source="fuzz")
        except OrchestoreError as error:
            outcomes["refused"] += 1
            shown = f"{error} {error!r}"
        else:
            outcomes["built"] += 1
            # a path or a name is shown as given; a secret field's value never
            if any(_revealed(built, name) == SECRET for name in _secret_fields(model)):
                shown = f"{built} {built!r}"
        assert SECRET not in shown

    run()
    tally["bad inputs tried"] += sum(outcomes.values())
    tally["bad inputs refused"] += outcomes["refused"]
    assert outcomes["refused"] > 0


@given(data=st.dictionaries(st.sampled_from(sorted(RetryPolicy.model_fields)), values, max_size=5))
@FUZZ
def test_retry_policy_is_a_value_or_a_validation_error(data: dict[str, Any]) -> None:
    from pydantic import ValidationError

    try:
        policy = RetryPolicy(**data)
    except ValidationError:
        return
    assert policy.attempts >= 1 and policy.worst_case_seconds > 0
