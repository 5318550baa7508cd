"""secret_forms: the strings Airflow's masker must know so a secret never shows in a task log.

The scheduler-run proof is tests/airflow/live/test_scheduler_masking.py; this pins the rules.
"""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

from orchestore.airflow.masking import secret_forms

PEM = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQE+/=\nFAKEKEYLINE2xyzxyzxyz\n"
    "-----END PRIVATE KEY-----\n"
)


def test_url_quoted_forms_for_connection_uris() -> None:
    key = "Zm9v+YmFy/YmF6=="
    assert secret_forms(key) == {key, quote(key, safe=""), quote_plus(key)}


def test_multi_line_secret_is_masked_line_by_line() -> None:
    forms = secret_forms(PEM)
    assert {PEM, "MIIEvQIBADANBgkqhkiG9w0BAQE+/=", "FAKEKEYLINE2xyzxyzxyz"} <= forms
    assert quote("MIIEvQIBADANBgkqhkiG9w0BAQE+/=", safe="") in forms


def test_key_file_masks_its_secret_fields_not_its_public_lines() -> None:
    key_file = {
        "type": "service_account",
        "private_key_id": "0123456789abcdef0123",
        "private_key": PEM,
        "client_email": "etl@project.iam.gserviceaccount.com",
    }
    text = json.dumps(key_file, indent=2)
    forms = secret_forms(text)
    assert {text, "0123456789abcdef0123", PEM, "FAKEKEYLINE2xyzxyzxyz"} <= forms
    fragments = forms - {text, quote(text, safe=""), quote_plus(text)}
    assert not any("client_email" in form or "service_account" in form for form in fragments)


def test_short_fragments_are_not_masked_alone() -> None:
    assert "{" not in secret_forms('{\n  "private_key": "abc"\n}')
    assert "x" not in secret_forms("long-enough-line\nx\n")
