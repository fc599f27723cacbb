"""hvac's KV v2 client, unchanged, against edgesafe (tests/vault_compat.rs).

Usage: hvac_flow.py <base url> <token> <mount>. Exits non-zero on the first
difference from what Vault would answer.
"""
import sys

import hvac

url, token, mount = sys.argv[1:4]
client = hvac.Client(url=url, token=token)
kv = client.secrets.kv.v2

assert client.is_authenticated()
assert client.lookup_token()["data"]["display_name"] == "admin"
assert f"{mount}/" in client.sys.list_mounted_secrets_engines()["data"]

first = kv.create_or_update_secret(path="hv/app", secret={"k": "v"}, mount_point=mount)
assert first["data"]["version"] == 1, first
second = kv.create_or_update_secret(path="hv/app", secret={"k": "w"}, cas=1, mount_point=mount)
assert second["data"]["version"] == 2, second
try:
    kv.create_or_update_secret(path="hv/app", secret={"k": "x"}, cas=1, mount_point=mount)
    raise SystemExit("a stale cas was accepted")
except hvac.exceptions.InvalidRequest as e:
    assert "check-and-set" in str(e), e

read = kv.read_secret_version(path="hv/app", mount_point=mount, raise_on_deleted_version=True)
assert read["data"]["data"] == {"k": "w"}, read
assert read["data"]["metadata"]["version"] == 2
old = kv.read_secret_version(path="hv/app", version=1, mount_point=mount, raise_on_deleted_version=True)
assert old["data"]["data"] == {"k": "v"}, old

patched = kv.patch(path="hv/app", secret={"p": "q"}, mount_point=mount)
assert patched["data"]["version"] == 3
assert kv.read_secret_version(path="hv/app", mount_point=mount, raise_on_deleted_version=True)["data"]["data"] == {"k": "w", "p": "q"}

assert kv.list_secrets(path="hv", mount_point=mount)["data"]["keys"] == ["app"]

kv.delete_latest_version_of_secret(path="hv/app", mount_point=mount)
deleted = kv.read_secret_version(path="hv/app", mount_point=mount, raise_on_deleted_version=False)
assert deleted["data"]["data"] is None and deleted["data"]["metadata"]["deletion_time"], deleted
kv.undelete_secret_versions(path="hv/app", versions=[3], mount_point=mount)
assert kv.read_secret_version(path="hv/app", mount_point=mount, raise_on_deleted_version=True)["data"]["data"]["p"] == "q"

kv.destroy_secret_versions(path="hv/app", versions=[1], mount_point=mount)
kv.update_metadata(path="hv/app", max_versions=5, custom_metadata={"team": "a"}, mount_point=mount)
meta = kv.read_secret_metadata(path="hv/app", mount_point=mount)["data"]
assert meta["max_versions"] == 5 and meta["custom_metadata"] == {"team": "a"}, meta
assert meta["current_version"] == 3 and meta["versions"]["1"]["destroyed"] is True, meta

kv.delete_metadata_and_all_versions(path="hv/app", mount_point=mount)
try:
    kv.read_secret_version(path="hv/app", mount_point=mount, raise_on_deleted_version=True)
    raise SystemExit("a deleted secret was read")
except hvac.exceptions.InvalidPath:
    pass

bad = hvac.Client(url=url, token="not-a-token")
try:
    bad.secrets.kv.v2.read_secret_version(path="x", mount_point=mount, raise_on_deleted_version=True)
    raise SystemExit("a bad token was accepted")
except hvac.exceptions.Forbidden:
    pass
print("hvac flow ok")
