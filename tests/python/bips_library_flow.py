"""Drives the official Password Safe Python library (beyondtrust-bips-library)
against a running edgesafe, through safes, permissions, folders, the three secret
kinds, file download, filters, shares and CSV import, for API versions 3.0, 3.1
and 3.2, and 3.3 (version history, rollback, TOTP) when the library speaks it
(3.x, on Python >= 3.12), then user audits and managed-account checkout, with
API-key and OAuth sign-in. Exits non-zero on the first mismatch.

Environment: EDGESAFE_URL (…/BeyondTrust/api/public/v3), EDGESAFE_API_KEY
("<key>; runas=<user>;"), EDGESAFE_CLIENT_ID, EDGESAFE_CLIENT_SECRET,
EDGESAFE_USER_ID (the run-as user's id), EDGESAFE_OTHER_USER_ID (a second user).
"""

import base64
import calendar
import hashlib
import hmac
import importlib.metadata
import logging
import os
import struct
import time
import sys
import tempfile
import uuid

import requests
from secrets_safe_library import (
    authentication,
    exceptions,
    folders,
    managed_account,
    safe_permissions,
    safes,
    secrets_safe,
    user_audits,
)

URL = os.environ["EDGESAFE_URL"]
API_KEY = os.environ["EDGESAFE_API_KEY"]
CLIENT_ID = os.environ["EDGESAFE_CLIENT_ID"]
CLIENT_SECRET = os.environ["EDGESAFE_CLIENT_SECRET"]
USER_ID = int(os.environ["EDGESAFE_USER_ID"])
OTHER_USER_ID = int(os.environ["EDGESAFE_OTHER_USER_ID"])

logging.basicConfig(level=logging.WARNING)
log = logging.getLogger("bips-flow")
checks = 0


def check(condition, what):
    global checks
    if not condition:
        print(f"FAILED: {what}", flush=True)
        sys.exit(1)
    checks += 1


def sign_in(api_version, **credentials):
    session = requests.Session()
    auth = authentication.Authentication(
        req=session,
        timeout_connection=30,
        timeout_request=30,
        api_url=URL,
        verify_ca=False,
        logger=log,
        api_version=api_version,
        **credentials,
    )
    response = auth.get_api_access()
    check(response.status_code == 200, f"sign-in answered {response.status_code}: {response.text}")
    return auth


def items(listing):
    """Version 3.2 wraps lists as {TotalCount, Data}; the library passes that on."""
    return listing["Data"] if isinstance(listing, dict) else listing


def owners_for(version):
    if version == "3.0":
        return dict(
            owner_id=USER_ID,
            owner_type="User",
            owners=[{"owner_id": USER_ID, "owner": "admin", "email": "admin@example.com"}],
        )
    return dict(owners=[{"user_id": USER_ID, "name": "admin", "email": "admin@example.com"}])


def flow(version):
    tag = version.replace(".", "")
    auth = sign_in(version, api_key=API_KEY)
    safe_api = safes.Safe(auth, log)
    perm_api = safe_permissions.SafePermission(auth, log)
    folder_api = folders.Folder(auth, log)
    secret_api = secrets_safe.SecretsSafe(auth, log)

    # Safes
    safe = safe_api.create_safe(f"Safe{tag}", "made by the library")
    safe_id = safe["Id"]
    check(uuid.UUID(safe_id) is not None, "safe id is a GUID")
    check(any(s["Id"] == safe_id for s in safe_api.list()), "safe listed")
    check(safe_api.get_by_id(safe_id)["Name"] == f"Safe{tag}", "safe by id")
    _, status = safe_api.update_safe(safe_id, f"Safe{tag}", "renamed description")
    check(status == 204, f"update safe answered {status}")

    # Permissions
    names = [p["PermissionName"] for p in perm_api.list_safe_permissions()]
    check("Read" in names and "Manage" in names, f"permission names {names}")
    _, status = perm_api.update_safe_permissions(safe_id, 0, OTHER_USER_ID, ["Read", "Create"])
    check(status == 204, f"grant answered {status}")
    entries = perm_api.get_safe_permissions(safe_id)
    check(any(e.get("PrincipalID") == OTHER_USER_ID for e in entries), f"grant listed {entries}")
    _, status = perm_api.delete_safe_permissions(safe_id, 0, OTHER_USER_ID)
    check(status == 204, f"revoke answered {status}")

    # Folders
    folder = folder_api.create_folder(f"Team{tag}", safe_id, "team folder")
    folder_id = folder["Id"]
    other = folder_api.create_folder(f"Other{tag}", safe_id)
    listed = folder_api.list_folders(folder_name=f"Team{tag}")
    check([f["Id"] for f in listed] == [folder_id], f"folder filter {listed}")
    by_path = folder_api.list_folders(folder_path=f"Safe{tag}", include_subfolders=True)
    check({folder_id, other["Id"]} <= {f["Id"] for f in by_path}, "folders by path")
    check(folder_api.get_by_id(folder_id)["Name"] == f"Team{tag}", "folder by id")
    folder_api.set_folder_favorite(other["Id"], True)
    moved = folder_api.move_folder(other["Id"], folder_id, "Rename")
    check(moved.get("ParentId", folder_id) == folder_id, f"folder moved {moved}")

    # Secrets of the three kinds
    owners = owners_for(version)
    cred = secret_api.create_secret(
        title=f"db{tag}", folder_id=folder_id, username="svc", password="pa55-word!", description="db", notes="n",
        urls=[{"Url": "https://db.example.com"}], **owners,
    )
    text = secret_api.create_secret(title=f"note{tag}", folder_id=folder_id, text="some text", **owners)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("file body\n")
        path = f.name
    file_secret = secret_api.create_secret(title=f"file{tag}", folder_id=folder_id, file_path=path, **owners)

    got = secret_api.get_secret_by_id(cred["Id"])
    check(got["Password"] == "pa55-word!" and got["SecretType"] == "Credential", f"credential {got}")
    check(secret_api.get_text_secret_by_id(text["Id"])["Text"] == "some text", "text secret")
    meta = secret_api.get_file_secret_metadata(file_secret["Id"])
    check(meta["FileName"] == os.path.basename(path) and len(meta["FileHash"]) == 64, f"file metadata {meta}")
    check(secret_api.get_file_secret_data(file_secret["Id"]) == "file body\n", "file download")
    check(secret_api.get_secret(f"Safe{tag}/Team{tag}/db{tag}") == "pa55-word!", "secret by path")
    check(secret_api.get_secret(f"Safe{tag}/Team{tag}/note{tag}") == "some text", "text by path")
    titles = {s["Title"] for s in items(secret_api.list_secrets_by_folder_id(folder_id))}
    check({f"db{tag}", f"note{tag}", f"file{tag}"} <= titles, f"secrets by folder {titles}")
    filtered = items(secret_api.list_secrets(title=f"db{tag}", limit=10, offset=0))
    check(isinstance(filtered, list) and len(filtered) == 1, f"title filter {filtered}")
    after = items(secret_api.list_secrets(afterdate="2000-01-01T00:00:00Z"))
    check(len(after) >= 3, "afterdate filter")

    updated = secret_api.update_secret(
        cred["Id"], folder_id=folder_id, title=f"db{tag}", username="svc2", password="n3w-pass", **owners
    )
    check(isinstance(updated, dict), "credential update answers JSON")
    check(secret_api.get_secret_by_id(cred["Id"])["Password"] == "n3w-pass", "updated password")
    if version == "3.3":
        v33_flow(secret_api, folder_id, cred, text, file_secret, owners, tag)

    # Shares
    share = secret_api.create_secret_share(cred["Id"], other["Id"])
    check(share["FolderID"].lower() == other["Id"].lower(), f"share {share}")
    check(len(secret_api.get_secret_shares_by_id(cred["Id"])) == 1, "shares listed")
    secret_api.delete_secret_share(cred["Id"], other["Id"])
    secret_api.create_secret_share(cred["Id"], other["Id"])
    secret_api.delete_all_secret_shares(cred["Id"])
    check(secret_api.get_secret_shares_by_id(cred["Id"]) == [], "shares removed")

    # CSV import
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        f.write("Title,Username,Password,Description\n")
        f.write(f"imported{tag},u1,p1,first\n")
        f.write(",missing-title,p2,bad\n")
        csv_path = f.name
    result = folder_api.import_csv(other["Id"], csv_path)
    check(result["totalNumber"] == 2 and result["successfulImport"] == 1, f"csv import {result}")
    check(result["errors"][0]["lineNumber"] == 3, f"csv error line {result}")

    secret_api.delete_secret_by_id(text["Id"])
    check(auth.sign_app_out() is True, "sign out")


# ---------------------------------------------------------------- API 3.3

# RFC 6238's SHA1 seed ("12345678901234567890") in Base32.
TOTP_SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def expected_totp(seed_base32, at, digits=6, period=30):
    """RFC 6238 with SHA1, computed here to check the server's code independently."""
    counter = struct.pack(">Q", at // period)
    digest = hmac.new(base64.b32decode(seed_base32), counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def utc_seconds(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def v33_flow(secret_api, folder_id, cred, text, file_secret, owners, tag):
    """Version history, old values, rollback and TOTP, as the library calls them."""
    history = secret_api.get_secret_versions(cred["Id"])
    check(history["SecretType"] == "Credential" and len(history["Versions"]) == 2, f"history {history}")
    old = next(v for v in history["Versions"] if not v["IsActive"])
    check(secret_api.get_secret_password_version(cred["Id"], old["Id"]) == "pa55-word!", "old password")
    secret_api.rollback_secret_version(cred["Id"], old["Id"])
    check(secret_api.get_secret_by_id(cred["Id"])["Password"] == "pa55-word!", "rolled back")
    check(len(secret_api.get_secret_versions(cred["Id"])["Versions"]) == 3, "history kept")

    secret_api.update_secret(text["Id"], folder_id=folder_id, title=f"note{tag}", text="newer text", **owners)
    old_text = next(v for v in secret_api.get_secret_versions(text["Id"])["Versions"] if not v["IsActive"])
    check(secret_api.get_secret_text_version(text["Id"], old_text["Id"]) == "some text", "old text")
    (file_version,) = secret_api.get_secret_versions(file_secret["Id"])["Versions"]
    check(secret_api.get_secret_file_version(file_secret["Id"], file_version["Id"]) == "file body\n", "file version")

    mfa = secret_api.create_secret(
        title=f"mfa{tag}", folder_id=folder_id, username="svc", password="pw-1",
        totp_enabled=True, totp_secret_key=TOTP_SEED, **owners,
    )
    check(mfa["TotpEnabled"] is True, f"TOTP on {mfa}")
    check(mfa["TotpParameters"] == {"Algorithm": "SHA1", "Digits": 6, "Period": 30}, f"parameters {mfa}")
    check(TOTP_SEED not in str(secret_api.get_secret_by_id(mfa["Id"])), "the seed is never returned")
    code = secret_api.get_secret_totp_code(mfa["Id"])
    valid_from, valid_to = utc_seconds(code["ValidFromUtc"]), utc_seconds(code["ValidToUtc"])
    check(valid_to - valid_from == 30, f"code window {code}")
    check(code["Code"] == expected_totp(TOTP_SEED, valid_from), f"code {code}")
    off = secret_api.update_secret(
        mfa["Id"], folder_id=folder_id, title=f"mfa{tag}", username="svc", password="pw-1",
        totp_enabled=False, **owners,
    )
    check(off["TotpEnabled"] is False and off["TotpParameters"] is None, f"TOTP off {off}")

    # The library signs out before it raises, so the refusals get a session of their own.
    refused = secrets_safe.SecretsSafe(sign_in("3.3", api_key=API_KEY), log)
    try:
        refused.get_secret_totp_code(mfa["Id"])
        check(False, "a code with TOTP off")
    except exceptions.TotpNotEnabledError:
        check(True, "TOTP off: 404")
    refused = secrets_safe.SecretsSafe(sign_in("3.3", api_key=API_KEY), log)
    try:
        refused.get_secret_totp_code(text["Id"])
        check(False, "a code of a text secret")
    except exceptions.SecretTypeNotSupportedError:
        check(True, "text secret: 400")


def audit_flow():
    """UserAudits: the trail as the library lists it, filtered and paged, and details."""
    auth = sign_in("3.0", api_key=API_KEY)
    audit_api = user_audits.UserAudit(auth, log)
    everything = audit_api.list_user_audits()
    check(everything["TotalCount"] == len(everything["Data"]) > 0, "user audits listed")
    reads = audit_api.list_user_audits(username="admin", action_type="secret.read")
    check(reads["TotalCount"] >= 1, f"secret reads by admin {reads['TotalCount']}")
    check(
        all(a["UserName"] == "admin" and a["Section"] == "secret" for a in reads["Data"]),
        "filtered by user and action",
    )
    dated = audit_api.list_user_audits(
        section="identity", start_date="2000-01-01", end_date="2999-12-31T23:59:59Z"
    )
    check(all(a["Section"] == "identity" for a in dated["Data"]), "filtered by section and date")
    page = audit_api.list_user_audits(limit=2, offset=1)
    ids = [a["AuditID"] for a in everything["Data"]]
    check([a["AuditID"] for a in page["Data"]] == ids[1:3], "paged")
    details = audit_api.get_user_audit_details(reads["Data"][0]["AuditID"], limit=50, offset=0)
    names = [d["FieldName"] for d in details["Data"]]
    check("Target" in names and "Mac" in names, f"details {names}")
    check(auth.sign_app_out() is True, "sign out (audits)")


def oauth_flow():
    auth = sign_in("3.1", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    check(isinstance(safes.Safe(auth, log).list(), list), "safes over OAuth")
    check(auth.sign_app_out() is True, "sign out (OAuth)")


def managed_account_flow():
    """Managed-account checkout, as the library does it: ManagedAccounts lookup by
    "system/account" (a safe and a credential in it), POST Requests, GET Credentials,
    PUT Requests/{id}/checkin, on the same engine as the PAM v2 checkouts."""
    auth = sign_in("3.1", api_key=API_KEY)
    safe_id = safes.Safe(auth, log).create_safe("AccountsSafe", "managed accounts")["Id"]
    secrets_safe.SecretsSafe(auth, log).create_secret(
        title="sa", folder_id=safe_id, username="CORP\\sa", password="m4naged!", **owners_for("3.1")
    )
    accounts = managed_account.ManagedAccount(auth, log)
    check(accounts.get_secret("AccountsSafe/sa") == "m4naged!", "managed account by path")
    both = accounts.get_secrets_with_metadata(["AccountsSafe/sa"])
    check(both["AccountsSafe/sa"] == "m4naged!", "managed account with metadata")
    meta = both["AccountsSafe/sa-metadata"]
    check(meta["AccountName"] == "sa" and meta["DomainName"] == "CORP", f"account metadata {meta}")
    # Every request was checked in again: a new one opens, none is left open.
    found = accounts.get_managed_accounts(system_name="AccountsSafe", account_name="sa")
    check(found["AccountId"] == meta["AccountId"], f"lookup {found}")
    # Last: on a failed call the library signs the session out itself.
    try:
        accounts.get_managed_accounts(system_name="AccountsSafe", account_name="nobody")
        check(False, "an unknown account is not found")
    except Exception as e:  # the library raises its LookupError on a 404
        check("statuscode: 404" in str(e), f"unknown account answered {e}")


# The library refuses to create secrets without an explicit version; 3.x adds 3.3.
SPEAKS_3_3 = hasattr(secrets_safe.SecretsSafe, "get_secret_totp_code")
VERSIONS = ("3.0", "3.1", "3.2") + (("3.3",) if SPEAKS_3_3 else ())
for v in VERSIONS:
    flow(v)
audit_flow()
oauth_flow()
managed_account_flow()
library = importlib.metadata.version("beyondtrust-bips-library")
print(f"bips library {library} flow, API {', '.join(VERSIONS)}: {checks} checks passed", flush=True)
