"""check with good and bad credentials, the Vault source against OpenBao, stdin, no secret out."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Run, cli_env, run_many
from tests.servers.moto_server import ADMIN_KEY_ID, ADMIN_SECRET, REGION, MotoServer
from tests.servers.openbao import OpenBaoServer


def _s3_mapping(moto_server: MotoServer, key_id: str, secret: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
        "S3_ENDPOINT_URL": moto_server.endpoint_url,
        "AWS_REGION": REGION,
    }


def test_check_with_good_credentials_names_the_source(
    run: Run, credentials_file: str, folders: dict[str, str], moto_server: MotoServer
) -> None:
    bucket, _, key = folders["s3"].removeprefix("s3://").partition("/")
    moto_server.client().put_object(Bucket=bucket, Key=key + "x.txt", Body=b"xyz")
    creds = ("--credentials-json", credentials_file)
    obj = run("check", folders["s3"] + "x.txt", *creds)
    assert obj.returncode == 0, obj.stderr
    assert obj.stdout.startswith(f"ok: reached {folders['s3']}x.txt (object, 3 B)")
    assert "explicit credentials" in obj.stdout
    folder = json.loads(run("check", folders["s3"], *creds, "--json").stdout)
    assert folder["reached"] == "folder, 1 entries listed"
    assert ADMIN_SECRET not in obj.stdout + obj.stderr


def test_check_with_wrong_credentials_exits_3_without_the_secret(
    run: Run, moto_server: MotoServer, moto_bucket: str, tmp_path: Path
) -> None:
    """moto verifies signatures inside enforcing_auth(): a wrong secret is refused -> exit 3."""
    user_id, user_secret = moto_server.create_user("cli-checker", ["s3:*"])
    wrong = "wrong-cli-secret-value-71d3"
    good_file, bad_file = tmp_path / "good.json", tmp_path / "bad.json"
    good_file.write_text(json.dumps(_s3_mapping(moto_server, user_id, user_secret)))
    bad_file.write_text(json.dumps(_s3_mapping(moto_server, user_id, wrong)))
    url = f"s3://{moto_bucket}/"
    unknown_file = tmp_path / "unknown.json"
    unknown_file.write_text(json.dumps(_s3_mapping(moto_server, "AKIAUNKNOWNCLI000001", wrong)))
    with moto_server.enforcing_auth():
        good, bad, unknown = run_many(
            ("check", url, "--credentials-json", str(good_file)),
            ("check", url, "--credentials-json", str(bad_file)),
            ("check", url, "--credentials-json", str(unknown_file)),
        )
    assert good.returncode == 0, good.stderr
    for refused in (bad, unknown):
        assert refused.returncode == 3, refused.stderr
        assert refused.stderr.startswith("orchestore check: CredentialsError")
        assert len(refused.stderr.strip().splitlines()) == 1
        output = refused.stdout + refused.stderr
        assert wrong not in output and user_secret not in output


def test_malformed_credentials_json_never_echoes_it(run: Run, moto_bucket: str) -> None:
    secret = "do-not-print-this-9f2e"
    broken = run(
        "check",
        f"s3://{moto_bucket}/",
        "--credentials-json",
        "-",
        stdin='{"AWS_SECRET_ACCESS_KEY": "' + secret,
    )
    unknown_key = run(
        "check",
        f"s3://{moto_bucket}/",
        "--credentials-json",
        "-",
        stdin=json.dumps({"AWS_SECRET_KEY": secret}),
    )
    for result in (broken, unknown_key):
        assert result.returncode == 3, result.stderr
        assert secret not in result.stdout + result.stderr
    assert "AWS_SECRET_KEY" in unknown_key.stderr


def test_allow_env_reads_mlrun_variables_only_when_asked(
    run: Run, moto_server: MotoServer, moto_bucket: str
) -> None:
    env = cli_env(**_s3_mapping(moto_server, ADMIN_KEY_ID, ADMIN_SECRET))
    url = f"s3://{moto_bucket}/"
    without = run("check", url, env=env)
    assert without.returncode == 3 and "--allow-env" in without.stderr
    with_env = run("check", url, "--allow-env", env=env)
    assert with_env.returncode == 0, with_env.stderr
    assert "environment variables" in with_env.stdout
    assert ADMIN_SECRET not in with_env.stdout + with_env.stderr


def _vault_secret(openbao: OpenBaoServer, moto_server: MotoServer, path: str) -> str:
    """An MLRun-named S3 secret in OpenBao, and a read-only token for it."""
    openbao.put_secret("secret", path, _s3_mapping(moto_server, ADMIN_KEY_ID, ADMIN_SECRET))
    policy = f"cli-read-{path.replace('/', '-')}"
    openbao.write_policy(policy, f'path "secret/data/{path}" {{ capabilities = ["read"] }}')
    return openbao.create_token([policy])


def test_check_and_cp_with_credentials_from_vault(
    run: Run, openbao: OpenBaoServer, moto_server: MotoServer, moto_bucket: str, tmp_path: Path
) -> None:
    token = _vault_secret(openbao, moto_server, "orchestore/cli/s3")
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    vault = ("--vault", openbao.address, "--vault-path", "secret/orchestore/cli/s3")
    (tmp_path / "v.txt").write_bytes(b"via vault")
    url = f"s3://{moto_bucket}/cli-vault/v.txt"
    copied = run("cp", str(tmp_path / "v.txt"), url, *vault, "--vault-token-file", str(token_file))
    assert copied.returncode == 0, copied.stderr
    checked = run("check", url, *vault, "--vault-token-file", "-", stdin=token)
    assert checked.returncode == 0, checked.stderr
    assert "Vault secret secret/data/orchestore/cli/s3" in checked.stdout
    assert token not in checked.stdout + checked.stderr
    assert ADMIN_SECRET not in checked.stdout + checked.stderr


def test_vault_approle_and_refused_token(
    run: Run, openbao: OpenBaoServer, moto_server: MotoServer, moto_bucket: str, tmp_path: Path
) -> None:
    _vault_secret(openbao, moto_server, "orchestore/cli/approle")
    role_id, secret_id = openbao.approle("cli-role", ["cli-read-orchestore-cli-approle"])
    secret_file = tmp_path / "secret-id"
    secret_file.write_text(secret_id)
    vault = ("--vault", openbao.address, "--vault-path", "secret/orchestore/cli/approle")
    url = f"s3://{moto_bucket}/"
    approle = run(
        "check",
        url,
        *vault,
        "--vault-auth",
        "approle",
        "--vault-role-id",
        role_id,
        "--vault-secret-id-file",
        str(secret_file),
    )
    assert approle.returncode == 0, approle.stderr
    assert secret_id not in approle.stdout + approle.stderr

    bogus = "hvs.not-a-real-token-5c1a"
    refused = run("check", url, *vault, "--vault-token-file", "-", stdin=bogus)
    assert refused.returncode == 3, refused.stderr
    assert bogus not in refused.stdout + refused.stderr
    missing_auth = run("check", url, *vault)
    assert missing_auth.returncode == 2 and "--vault-token-file" in missing_auth.stderr
