//! The secrets area's handlers, one per route and method.
//!
//! Each one checks, in this order: the Secrets-Safe feature level its `Endpoint` needs
//! (403); the caller's view of the secret or folder (without Read
//! on a safe that holds it, 404 exactly like a missing one, the real reason only in
//! the audit trail); the flag the action needs on the secret's own safe (403); the
//! input (415/400); the objects it touches (404/409); and only then writes.
//!
//! Values (passwords, text, file bytes) live only in the vault, at
//! `secret/<id>/v/<version>`, and TOTP seeds at `secret/<id>/totp/<seed id>`. A write seals the new value first, then commits every row
//! in one transaction, and forgets the sealed value if the commit fails, so a failed
//! request leaves no trace a reader could reach. A value is handed out only once its
//! read is in the audit trail (one `secret.read` event per secret, never the value).

use std::collections::{HashMap, HashSet};

use edgesafe_api_common::response::{empty, json, with_header, Response};
use edgesafe_api_common::vault::{crypto, storage, Decision};
use edgesafe_api_common::{ApiError, Result};
use edgesafe_secrets_safe::access::{
    refuse_share_into_personal, shares_follow_secret, SafeView, SECRET_MOVE,
};
use edgesafe_secrets_safe::ids::{FolderId, SecretId};
use edgesafe_secrets_safe::{
    feature_access, folders, ids, Access, Endpoint, FavoriteIn, Flags, Folder,
};
use http::{header, HeaderValue, StatusCode};

use crate::dto::{
    file_name, kind_name, ApiVersion, CommonFields, CreatedOut, DuplicateNameAction, ListQuery,
    MoveIn, MoveOut, OwnerRef, OwnersIn, PasswordIn, SecretIn, SecretOut, SecretPageOut,
    SecretParts, ShareOut, TotpCodeOut, TotpIn, UrlField, ValueOut, VersionHistoryOut, TITLE_MAX,
};
use crate::multipart::{self, FilePart};
use crate::store::{
    self, Kind, Links, NewSecret, OwnerKind, OwnerRecord, SecretChanges, SecretFields, SecretMove,
    SecretRecord, SecretUpdate, ShareMove, ShareRecord, TotpChange, UrlRecord,
};
use crate::{totp, Ctx};

const SECRET_CREATE: &str = "secret.create";
const SECRET_READ: &str = "secret.read";
const SECRET_LIST: &str = "secret.list";
const SECRET_UPDATE: &str = "secret.update";
const SECRET_DELETE: &str = "secret.delete";
const SECRET_SHARE: &str = "secret.share";
const SECRET_UNSHARE: &str = "secret.unshare";
const SECRET_MOVE_ACTION: &str = "secret.move";
const SECRET_FAVORITE: &str = "secret.favorite";

fn secret_target(id: &str) -> String {
    format!("secret:{id}")
}

fn folder_target(id: &str) -> String {
    format!("folder:{id}")
}

// ---------------------------------------------------------------- authorization

/// A secret the caller can see: through its own safe, or a safe it is shared into.
struct Visible {
    record: SecretRecord,
    /// The caller's flags on the secret's own safe (none when seen through a share).
    own: Flags,
}

/// The secret `id` if the caller may read it; 404 otherwise, like a missing one.
fn visible_secret(ctx: &Ctx, readable: &SafeView, id: &str, action: &str) -> Result<Visible> {
    let record = store::find_secret(id)?.ok_or_else(ApiError::not_found)?;
    let own = readable.flags(&record.safe_id);
    let shares = store::shares_of_secret(id)?;
    if readable.can_see_secret(&record.safe_id, shares.iter().map(|s| &s.safe_id)) {
        return Ok(Visible { record, own });
    }
    ctx.audit(
        action,
        &secret_target(id),
        Decision::Deny,
        Some("no Read on a safe that holds the secret"),
    );
    Err(ApiError::not_found())
}

/// A secret of `kind`: the kind-specific endpoints (`/text`, `/file`, and the
/// credential `PUT secrets/{id}`) address something a secret of another kind does not
/// have, so a wrong kind answers 404, as a missing secret would.
fn visible_secret_of_kind(
    ctx: &Ctx,
    readable: &SafeView,
    id: &str,
    kind: Kind,
    action: &str,
) -> Result<Visible> {
    let visible = visible_secret(ctx, readable, id, action)?;
    if visible.record.kind != kind {
        return Err(ApiError::not_found());
    }
    Ok(visible)
}

/// What a change to secret `id` starts from: the feature level `endpoint` needs, a
/// secret the caller can see (404 otherwise, also for another `kind`), and the
/// endpoint's flag on its own safe (403 otherwise); every refusal is audited under
/// `action`.
struct Changeable {
    readable: SafeView,
    visible: Visible,
}

fn secret_for_change(
    ctx: &Ctx,
    id: &str,
    kind: Option<Kind>,
    endpoint: Endpoint,
    action: &str,
) -> Result<Changeable> {
    let access = feature_access(ctx, endpoint, action, &secret_target(id))?;
    let readable = access.safe_view()?;
    let visible = match kind {
        Some(kind) => visible_secret_of_kind(ctx, &readable, id, kind, action)?,
        None => visible_secret(ctx, &readable, id, action)?,
    };
    require_own(ctx, &visible, endpoint.safe_flag(), action)?;
    Ok(Changeable { readable, visible })
}

/// 403 unless the caller holds `need` on the secret's own safe.
fn require_own(ctx: &Ctx, visible: &Visible, need: Flags, action: &str) -> Result<()> {
    if visible.own.contains(need) {
        return Ok(());
    }
    let note = format!("needs {} on the secret's safe", need.names().join(", "));
    ctx.audit(
        action,
        &secret_target(&visible.record.id),
        Decision::Deny,
        Some(&note),
    );
    Err(ApiError::forbidden())
}

/// The folder (or safe) `id` when the caller holds `need` on its safe: 404 without
/// Read, 403 without `need`.
fn folder_with(
    ctx: &Ctx,
    readable: &SafeView,
    id: &str,
    need: Flags,
    action: &str,
) -> Result<Folder> {
    let folder = folders::load(id)?.ok_or_else(ApiError::not_found)?;
    let flags = readable.flags(&folder.safe_id);
    if !flags.contains(Flags::READ) {
        ctx.audit(
            action,
            &folder_target(id),
            Decision::Deny,
            Some("no Read on the folder's safe"),
        );
        return Err(ApiError::not_found());
    }
    if !flags.contains(need) {
        let note = format!("needs {} on the folder's safe", need.names().join(", "));
        ctx.audit(action, &folder_target(id), Decision::Deny, Some(&note));
        return Err(ApiError::forbidden());
    }
    Ok(folder)
}

// ---------------------------------------------------------------- values

/// The current value of a secret, from the vault. A secret deleted between the read
/// of its row and of its value is not found, as if the delete had come first.
fn current_value(record: &SecretRecord) -> Result<Vec<u8>> {
    let scope = store::value_scope(&record.id, record.current_version);
    match storage::unseal(&scope)? {
        Some(value) => Ok(value),
        None if store::find_secret(&record.id)?.is_none() => Err(ApiError::not_found()),
        None => Err(ApiError::internal(format!(
            "secret {} has no sealed value for version {}",
            record.id, record.current_version
        ))),
    }
}

fn utf8(bytes: Vec<u8>) -> Result<String> {
    // Credential and text values are stored from JSON strings, so this holds unless
    // the vault returned something else than what was sealed.
    String::from_utf8(bytes).map_err(|_| ApiError::internal("a sealed text value is not UTF-8"))
}

/// The value a JSON answer carries for `record`, read from the vault and audited
/// first (fail closed: no audit record, no value). Files never carry theirs in JSON.
fn audited_value(
    ctx: &Ctx,
    record: &SecretRecord,
    with_value: bool,
    how: &str,
) -> Result<ValueOut> {
    if !with_value || record.kind == Kind::File {
        return Ok(ValueOut::Withheld);
    }
    let value = utf8(current_value(record)?)?;
    let note = format!("{how}; version={}", record.current_version);
    ctx.try_audit(
        SECRET_READ,
        &secret_target(&record.id),
        Decision::Allow,
        Some(&note),
    )?;
    Ok(match record.kind {
        Kind::Text => ValueOut::Text(value),
        _ => ValueOut::Password(value),
    })
}

/// The value a write answer carries: the one just written (known to the caller, or
/// generated for them), so it needs no vault read.
fn written_value(kind: Kind, value: &[u8]) -> Result<ValueOut> {
    Ok(match kind {
        Kind::File => ValueOut::Withheld,
        Kind::Text => ValueOut::Text(utf8(value.to_vec())?),
        Kind::Credential => ValueOut::Password(utf8(value.to_vec())?),
    })
}

/// Forgets a sealed value whose rows did not commit (or no longer exist). A failure is
/// only logged: without its row nothing can reach the value.
fn forget_value(scope: &str) {
    if let Err(e) = storage::forget(scope) {
        eprintln!("could not forget an unreferenced sealed value: {e}");
    }
}

/// A password from the rule `rule_id`; 400 when there is no such rule.
fn generated_password(rule_id: i64) -> Result<String> {
    let rule = store::find_password_rule(rule_id)?
        .ok_or_else(|| ApiError::bad_request("PasswordRuleID", "no such password rule"))?;
    Ok(crypto::generate_password(rule)?)
}

/// The password a credential write stores, and whether it was generated.
fn credential_password(password: PasswordIn, rule_id: Option<i64>) -> Result<(String, bool)> {
    match password {
        PasswordIn::Given(password) => {
            // A rule sent beside a password is stored with the secret, so it has to exist.
            if let Some(rule_id) = rule_id {
                store::find_password_rule(rule_id)?.ok_or_else(|| {
                    ApiError::bad_request("PasswordRuleID", "no such password rule")
                })?;
            }
            Ok((password, false))
        }
        PasswordIn::Rule(rule_id) => Ok((generated_password(rule_id)?, true)),
        PasswordIn::Missing => Err(ApiError::bad_request(
            "Password",
            "required, 1 to 256 characters, unless PasswordRuleID is given",
        )),
    }
}

// ---------------------------------------------------------------- owners and URLs

/// Owners as stored, with the 3.0 primary owner.
struct ResolvedOwners {
    kind: OwnerKind,
    primary: Option<i64>,
    list: Vec<OwnerRecord>,
}

/// Checks that the caller may name every owner (400 otherwise, the same for an id
/// that does not exist: see `Access::may_name_user`) and fills in names and emails.
/// The secret's current owners (`kept`) may always stay: the caller reads them in
/// the secret already, and clients send them back on every update.
fn resolve_owners(
    access: &Access<'_>,
    owners: OwnersIn,
    kept: &[OwnerRecord],
) -> Result<ResolvedOwners> {
    let names = Naming { access, kept };
    let mut list = Vec::with_capacity(owners.list.len() + 1);
    for (i, owner) in owners.list.iter().enumerate() {
        list.push(owner_record(&names, owner, &format!("Owners[{i}]"))?);
    }
    let (kind, primary) = match &owners.primary {
        Some(primary) => {
            let record = owner_record(&names, primary, "OwnerId")?;
            if list.is_empty() {
                list.push(record);
            }
            (primary.kind, primary.user_id.or(primary.group_id))
        }
        None => match owners.list.first() {
            Some(first) => (first.kind, first.user_id.or(first.group_id)),
            None => (OwnerKind::User, None),
        },
    };
    Ok(ResolvedOwners {
        kind,
        primary,
        list,
    })
}

/// The one answer for an owner that does not exist and one the caller may not see.
const NOT_NAMEABLE: &str =
    "no such user or group among those you can see: yourself, your groups, and principals with a grant on a safe you can read";

/// Who the caller may name as an owner: whom `Access` lets him name, and the
/// secret's current owners.
struct Naming<'a> {
    access: &'a Access<'a>,
    kept: &'a [OwnerRecord],
}

impl Naming<'_> {
    fn user(&self, user_id: i64) -> Result<bool> {
        Ok(self.kept.iter().any(|o| o.user_id == Some(user_id))
            || self.access.may_name_user(user_id)?)
    }

    fn group(&self, group_id: i64) -> Result<bool> {
        Ok(self.kept.iter().any(|o| o.group_id == Some(group_id))
            || self.access.may_name_group(group_id)?)
    }
}

fn owner_record(names: &Naming<'_>, owner: &OwnerRef, field: &str) -> Result<OwnerRecord> {
    if let Some(group_id) = owner.group_id {
        if !names.group(group_id)? {
            return Err(ApiError::bad_request(
                &format!("{field}.GroupId"),
                NOT_NAMEABLE,
            ));
        }
    }
    match (owner.kind, owner.user_id, owner.group_id) {
        (OwnerKind::User, Some(user_id), group_id) => {
            let user = if names.user(user_id)? {
                store::find_user(user_id)?
            } else {
                None
            };
            let user = user
                .ok_or_else(|| ApiError::bad_request(&format!("{field}.UserId"), NOT_NAMEABLE))?;
            Ok(OwnerRecord {
                user_id: Some(user_id),
                group_id,
                name: user.name,
                email: user.email,
            })
        }
        (_, _, Some(group_id)) => Ok(OwnerRecord {
            user_id: None,
            group_id: Some(group_id),
            name: store::find_group(group_id)?.unwrap_or_default(),
            email: String::new(),
        }),
        _ => Err(ApiError::bad_request(field, "names no user or group")),
    }
}

/// The caller as the only owner: the default when a create names none.
fn caller_as_owner(ctx: &Ctx) -> Result<ResolvedOwners> {
    let principal = ctx.principal()?;
    let user = store::find_user(principal.user_id)?;
    Ok(ResolvedOwners {
        kind: OwnerKind::User,
        primary: Some(principal.user_id),
        list: vec![OwnerRecord {
            user_id: Some(principal.user_id),
            group_id: None,
            name: user
                .as_ref()
                .map_or_else(|| principal.user_name.clone(), |u| u.name.clone()),
            email: user.map(|u| u.email).unwrap_or_default(),
        }],
    })
}

/// URLs as stored. A client's URL id is kept when it is new or already this secret's;
/// one that belongs to another secret gets a fresh id rather than a conflict, since
/// URL ids are ours to hand out.
fn resolve_urls(secret_id: &str, urls: Vec<UrlField>) -> Result<Vec<UrlRecord>> {
    let mut out: Vec<UrlRecord> = Vec::with_capacity(urls.len());
    for url in urls {
        let id = match url.id {
            Some(id)
                if !out.iter().any(|u| u.id == id)
                    && store::url_owner(&id)?.is_none_or(|owner| owner == secret_id) =>
            {
                id
            }
            _ => ids::new_id(),
        };
        out.push(UrlRecord { id, url: url.url });
    }
    Ok(out)
}

// ---------------------------------------------------------------- answers

/// Builds the answers for `items`, loading owners, URLs, favourites and paths in a
/// few queries for all of them.
fn render(
    ctx: &Ctx,
    items: Vec<(SecretRecord, ValueOut)>,
    paths: &HashMap<String, String>,
) -> Result<Vec<SecretOut>> {
    let version = ApiVersion::from_query(&ctx.query)?;
    let ids: Vec<String> = items.iter().map(|(r, _)| r.id.clone()).collect();
    let owners = store::owners_of(&ids)?;
    let urls = store::urls_of(&ids)?;
    let favorites = store::favorites_among(ctx.principal()?.user_id, &ids)?;
    Ok(items
        .into_iter()
        .map(|(record, value)| {
            SecretOut::new(
                version,
                SecretParts {
                    folder_path: paths
                        .get(&record.folder_id)
                        .map_or(record.folder_name.as_str(), String::as_str),
                    owners: owners.get(&record.id).map_or(&[], Vec::as_slice),
                    urls: urls.get(&record.id).map_or(&[], Vec::as_slice),
                    is_favorite: favorites.contains(&record.id),
                    value,
                    record: &record,
                },
            )
        })
        .collect())
}

/// One secret's answer.
fn render_one(ctx: &Ctx, record: SecretRecord, value: ValueOut) -> Result<SecretOut> {
    let paths = HashMap::from([(record.folder_id.clone(), folders::path(&record.folder_id)?)]);
    render(ctx, vec![(record, value)], &paths)?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("rendering a secret produced nothing"))
}

/// Answers that may carry a value must not be kept by caches on the way.
fn no_store(response: Response) -> Result<Response> {
    with_header(response, header::CACHE_CONTROL, "no-store")
}

fn secret_response(status: StatusCode, secret: &SecretOut) -> Result<Response> {
    no_store(json(status, secret)?)
}

/// A secret list: a plain array, or `{TotalCount, Data}` for 3.2.
fn list_response(ctx: &Ctx, total: usize, data: Vec<SecretOut>) -> Result<Response> {
    match ApiVersion::from_query(&ctx.query)? {
        ApiVersion::V32 | ApiVersion::V33 => no_store(json(
            StatusCode::OK,
            &SecretPageOut {
                total_count: total,
                data,
            },
        )?),
        ApiVersion::V30 | ApiVersion::V31 => no_store(json(StatusCode::OK, &data)?),
    }
}

// ---------------------------------------------------------------- create

/// A secret about to be created, whatever its kind.
struct Creation {
    kind: Kind,
    common: CommonFields,
    username: String,
    value: Vec<u8>,
    file_name: Option<String>,
    file_hash: Option<String>,
    password_rule_id: Option<i64>,
    /// Says how the value came about, for the audit trail (never the value).
    note: String,
    /// A credential's TOTP seed, when it is created with TOTP on.
    totp: Option<totp::Totp>,
}

/// Creates a secret in `folder` (already authorized for Create): 409 on a taken title,
/// 400 for an unknown owner; seals the value, then commits every row at once.
fn create_secret(ctx: &Ctx, folder: &Folder, new: Creation) -> Result<Response> {
    let principal = ctx.principal()?;
    let common = new.common;
    if store::title_taken(&folder.id, &common.title, None)? {
        return Err(ApiError::conflict(store::TITLE_TAKEN));
    }
    let owners = match common.owners.filter(|o| !o.is_empty()) {
        Some(owners) => resolve_owners(&Access::new(principal, ctx.now), owners, &[])?,
        None => caller_as_owner(ctx)?,
    };
    let id = ids::new_id();
    let urls = resolve_urls(&id, common.urls.unwrap_or_default())?;
    let scope = store::value_scope(&id, 1);
    storage::seal(&scope, &new.value)?;
    let totp_seed_id = ids::new_id();
    let totp_scope = store::totp_scope(&id, &totp_seed_id);
    if let Some(totp) = &new.totp {
        if let Err(e) = storage::seal(&totp_scope, &totp.seed) {
            forget_value(&scope);
            return Err(e.into());
        }
    }
    let inserted = store::insert_secret(&NewSecret {
        id: &id,
        kind: new.kind,
        fields: SecretFields {
            folder_id: &folder.id,
            title: &common.title,
            description: common.description.as_deref().unwrap_or_default(),
            username: &new.username,
            notes: common.notes.as_deref().unwrap_or_default(),
            file_name: new.file_name.as_deref(),
            file_hash: new.file_hash.as_deref(),
            owner_type: owners.kind,
            owner_id: owners.primary,
            password_rule_id: new.password_rule_id,
        },
        links: Links {
            owners: &owners.list,
            urls: &urls,
        },
        history_id: &ids::new_id(),
        size: new.value.len(),
        user_id: principal.user_id,
        now: ctx.now,
        totp: new.totp.as_ref().map(|t| TotpChange::Set {
            seed_id: &totp_seed_id,
            parameters: t.parameters,
        }),
    });
    if let Err(e) = inserted {
        forget_value(&scope);
        if new.totp.is_some() {
            forget_value(&totp_scope);
        }
        return Err(e);
    }
    let totp_note = if new.totp.is_some() { "; totp on" } else { "" };
    let note = format!(
        "type={}; folder={}; {}{totp_note}",
        kind_name(new.kind),
        folder.id,
        new.note
    );
    ctx.audit(
        SECRET_CREATE,
        &secret_target(&id),
        Decision::Allow,
        Some(&note),
    );
    let record = store::find_secret(&id)?
        .ok_or_else(|| ApiError::internal("a created secret is not there"))?;
    let value = written_value(new.kind, &new.value)?;
    let created = CreatedOut::new(ApiVersion::from_query(&ctx.query)?, &record);
    let out = SecretOut {
        created,
        ..render_one(ctx, record, value)?
    };
    secret_response(StatusCode::CREATED, &out)
}

/// A FolderId in a create body must name the folder of the path.
fn check_body_folder(common: &CommonFields, folder_id: &str) -> Result<()> {
    match &common.folder_id {
        Some(id) if id != folder_id => Err(ApiError::bad_request(
            "FolderId",
            "must match the folder in the path",
        )),
        _ => Ok(()),
    }
}

/// `POST secrets-safe/folders/{id}/secrets`: a credential.
pub fn post_credential_secret(ctx: &Ctx, folder_id: &str) -> Result<Response> {
    let access = feature_access(
        ctx,
        Endpoint::SecretCreate,
        SECRET_CREATE,
        &folder_target(folder_id),
    )?;
    let readable = access.safe_view()?;
    let folder = folder_with(
        ctx,
        &readable,
        folder_id,
        Endpoint::SecretCreate.safe_flag(),
        SECRET_CREATE,
    )?;
    let mut body = ctx.json::<SecretIn>()?;
    let totp = match body.totp(ApiVersion::from_query(&ctx.query)?)? {
        TotpIn::Set(totp) => Some(totp),
        TotpIn::Keep | TotpIn::Off => None,
    };
    let fields = body.credential()?;
    check_body_folder(&fields.common, &folder.id)?;
    let (password, generated) = credential_password(fields.password, fields.password_rule_id)?;
    let note = match (generated, fields.password_rule_id) {
        (true, Some(rule)) => format!("password generated by rule {rule}"),
        _ => "password given".to_owned(),
    };
    create_secret(
        ctx,
        &folder,
        Creation {
            kind: Kind::Credential,
            common: fields.common,
            username: fields.username,
            value: password.into_bytes(),
            file_name: None,
            file_hash: None,
            password_rule_id: fields.password_rule_id,
            note,
            totp,
        },
    )
}

/// `POST secrets-safe/folders/{id}/secrets/text`.
pub fn post_text_secret(ctx: &Ctx, folder_id: &str) -> Result<Response> {
    let access = feature_access(
        ctx,
        Endpoint::SecretCreate,
        SECRET_CREATE,
        &folder_target(folder_id),
    )?;
    let readable = access.safe_view()?;
    let folder = folder_with(
        ctx,
        &readable,
        folder_id,
        Endpoint::SecretCreate.safe_flag(),
        SECRET_CREATE,
    )?;
    let fields = ctx.json::<SecretIn>()?.text(true)?;
    check_body_folder(&fields.common, &folder.id)?;
    let text = fields
        .text
        .ok_or_else(|| ApiError::bad_request("Text", "required, 1 to 4096 characters"))?;
    create_secret(
        ctx,
        &folder,
        Creation {
            kind: Kind::Text,
            common: fields.common,
            username: String::new(),
            value: text.into_bytes(),
            file_name: None,
            file_hash: None,
            password_rule_id: None,
            note: "text given".to_owned(),
            totp: None,
        },
    )
}

/// The file name of an upload: the metadata's `FileName`, else the file part's own.
fn upload_file_name(
    metadata_name: Option<String>,
    file: Option<&FilePart>,
) -> Result<Option<String>> {
    if metadata_name.is_some() {
        return Ok(metadata_name);
    }
    file_name("FileName", file.and_then(|f| f.file_name.clone()))
}

/// `POST secrets-safe/folders/{id}/secrets/file`: multipart, 1 byte to 5 MB.
pub async fn post_file_secret(ctx: &Ctx, folder_id: &str) -> Result<Response> {
    let access = feature_access(
        ctx,
        Endpoint::SecretCreate,
        SECRET_CREATE,
        &folder_target(folder_id),
    )?;
    let readable = access.safe_view()?;
    let folder = folder_with(
        ctx,
        &readable,
        folder_id,
        Endpoint::SecretCreate.safe_flag(),
        SECRET_CREATE,
    )?;
    let upload = multipart::read_upload(ctx.content_type.as_deref(), &ctx.body).await?;
    let fields = upload.metadata.file()?;
    check_body_folder(&fields.common, &folder.id)?;
    let file = multipart::checked_file(upload.file)?
        .ok_or_else(|| ApiError::bad_request("files", "required part, the file"))?;
    let file_name = upload_file_name(fields.file_name, Some(&file))?
        .ok_or_else(|| ApiError::bad_request("FileName", "required, 1 to 256 characters"))?;
    let file_hash = crypto::sha256_hex(&file.bytes);
    let note = format!("file of {} bytes", file.bytes.len());
    create_secret(
        ctx,
        &folder,
        Creation {
            kind: Kind::File,
            common: fields.common,
            username: String::new(),
            value: file.bytes,
            file_name: Some(file_name),
            file_hash: Some(file_hash),
            password_rule_id: None,
            note,
            totp: None,
        },
    )
}

// ---------------------------------------------------------------- read

/// `GET secrets-safe/secrets/{id}`: any kind; a credential's or text's value in
/// `Password` (and a text's in `Text` too). `decrypt=false` leaves values out.
pub fn get_secret(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = feature_access(ctx, Endpoint::SecretRead, SECRET_READ, &secret_target(id))?;
    let readable = access.safe_view()?;
    let visible = visible_secret(ctx, &readable, id, SECRET_READ)?;
    let with_value = ctx.query.bool("decrypt")?.unwrap_or(true);
    let value = audited_value(ctx, &visible.record, with_value, "get")?;
    secret_response(StatusCode::OK, &render_one(ctx, visible.record, value)?)
}

/// `GET secrets-safe/secrets/{id}/text`: a text secret, its value in `Text`.
pub fn get_text_secret(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = feature_access(ctx, Endpoint::SecretRead, SECRET_READ, &secret_target(id))?;
    let readable = access.safe_view()?;
    let visible = visible_secret_of_kind(ctx, &readable, id, Kind::Text, SECRET_READ)?;
    let with_value = ctx.query.bool("decrypt")?.unwrap_or(true);
    let value = audited_value(ctx, &visible.record, with_value, "get text")?;
    secret_response(StatusCode::OK, &render_one(ctx, visible.record, value)?)
}

/// `GET secrets-safe/secrets/{id}/file`: a file secret's metadata (no content, so
/// nothing to audit as a read).
pub fn get_file_secret(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = feature_access(ctx, Endpoint::SecretRead, SECRET_READ, &secret_target(id))?;
    let readable = access.safe_view()?;
    let visible = visible_secret_of_kind(ctx, &readable, id, Kind::File, SECRET_READ)?;
    secret_response(
        StatusCode::OK,
        &render_one(ctx, visible.record, ValueOut::Withheld)?,
    )
}

/// `GET secrets-safe/secrets/{id}/file/download`: the file's bytes as an attachment.
pub fn get_file_secret_download(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = feature_access(ctx, Endpoint::SecretRead, SECRET_READ, &secret_target(id))?;
    let readable = access.safe_view()?;
    let visible = visible_secret_of_kind(ctx, &readable, id, Kind::File, SECRET_READ)?;
    let record = visible.record;
    let bytes = current_value(&record)?;
    let note = format!("download; version={}", record.current_version);
    ctx.try_audit(
        SECRET_READ,
        &secret_target(id),
        Decision::Allow,
        Some(&note),
    )?;
    attachment(bytes, record.file_name.as_deref().unwrap_or("secret"))
}

/// A file's bytes as a download that no cache keeps and no browser sniffs.
fn attachment(bytes: Vec<u8>, file_name: &str) -> Result<Response> {
    let mut response = empty(StatusCode::OK);
    *response.body_mut() = bytes;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(
        header::HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    let disposition = HeaderValue::from_str(&content_disposition(file_name))
        .map_err(|_| ApiError::internal("content-disposition header"))?;
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    no_store(response)
}

/// `attachment; filename="..."; filename*=UTF-8''...` (RFC 6266): the quoted form in
/// ASCII with `"` and `\` escaped and anything else replaced, the exact name
/// percent-encoded beside it for clients that read RFC 5987.
pub fn content_disposition(file_name: &str) -> String {
    let mut ascii = String::with_capacity(file_name.len());
    for c in file_name.chars() {
        match c {
            '"' | '\\' => {
                ascii.push('\\');
                ascii.push(c);
            }
            ' '..='~' => ascii.push(c),
            _ => ascii.push('_'),
        }
    }
    let mut encoded = String::with_capacity(file_name.len() * 3);
    for byte in file_name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

// ---------------------------------------------------------------- lists

/// Whether `record` sits at `path` (a folder path, or a folder path plus the title when
/// no title filter was given), in its own folder or in a folder it is shared into.
fn at_path(
    record: &SecretRecord,
    path: &[String],
    title_filtered: bool,
    paths: &HashMap<String, String>,
    shares: &[ShareRecord],
) -> bool {
    let wanted: Vec<String> = path.iter().map(|s| s.to_lowercase()).collect();
    let title = record.title.to_lowercase();
    std::iter::once(record.folder_id.as_str())
        .chain(shares.iter().map(|s| s.folder_id.as_str()))
        .filter_map(|folder_id| paths.get(folder_id))
        .any(|folder_path| {
            let segments: Vec<String> = folder_path.split('/').map(str::to_lowercase).collect();
            if segments == wanted {
                return true;
            }
            // Without a title filter the path may name the secret itself.
            !title_filtered
                && wanted.len() == segments.len() + 1
                && wanted[..segments.len()] == segments[..]
                && wanted.last() == Some(&title)
        })
}

/// Lists secrets the caller may read (in their own safe or shared into one), filtered,
/// paged and answered with their values (each one audited) unless `decrypt=false`.
fn list(ctx: &Ctx, readable: &SafeView, query: &ListQuery) -> Result<Response> {
    let principal = ctx.principal()?;
    let safe_ids = readable.safe_ids();
    let mut records = store::list_secrets(&store::ListFilter {
        readable_safes: Some(safe_ids.as_slice()),
        folder_id: query.folder_id.as_deref(),
        title: query.title.as_deref(),
        modified_from: query.after,
        favorites_of: query.favorites_only.then_some(principal.user_id),
    })?;
    let paths = folders::all_paths()?;
    if let Some(path) = &query.path {
        let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
        let shares = store::shares_of(&ids)?;
        records.retain(|r| {
            let shared = shares.get(&r.id).map_or(&[][..], Vec::as_slice);
            at_path(r, path, query.title.is_some(), &paths, shared)
        });
    }
    let total = records.len();
    let mut items = Vec::with_capacity(query.page.limit.min(total));
    for record in query.page.of(records) {
        let value = audited_value(ctx, &record, query.with_values, "list")?;
        items.push((record, value));
    }
    let data = render(ctx, items, &paths)?;
    list_response(ctx, total, data)
}

/// `GET secrets-safe/secrets`: path, separator, title, afterdate, limit, offset,
/// folderId, favorite, decrypt.
pub fn get_secrets(ctx: &Ctx) -> Result<Response> {
    let access = feature_access(ctx, Endpoint::SecretList, SECRET_LIST, "secrets")?;
    let query = ListQuery::from_query(&ctx.query)?;
    let readable = access.safe_view()?;
    list(ctx, &readable, &query)
}

/// `GET secrets-safe/folders/{id}/secrets`: the folder's secrets and those shared
/// into it; 404 for a folder the caller cannot read.
pub fn get_folder_secrets(ctx: &Ctx, folder_id: &str) -> Result<Response> {
    let access = feature_access(
        ctx,
        Endpoint::SecretList,
        SECRET_LIST,
        &folder_target(folder_id),
    )?;
    let mut query = ListQuery::from_query(&ctx.query)?;
    let readable = access.safe_view()?;
    let folder = folder_with(ctx, &readable, folder_id, Flags::READ, SECRET_LIST)?;
    query.folder_id = Some(folder.id.to_string());
    list(ctx, &readable, &query)
}

// ---------------------------------------------------------------- update

/// What an update changes, whatever the kind.
struct Change {
    common: CommonFields,
    username: Option<String>,
    /// The new value, when the request carries one.
    value: Option<Vec<u8>>,
    file_name: Option<String>,
    file_hash: Option<String>,
    password_rule_id: Option<i64>,
    note: String,
    /// A credential's TOTP (3.3): kept, turned off, or set to a new seed.
    totp: TotpIn,
}

/// Applies `change` to a visible secret (already checked for Update): a FolderId
/// elsewhere moves it (Delete on this safe and Create on the destination's); fields
/// not sent keep their values; a value that differs from the current one becomes a
/// new version, the old ones staying as history. Returns the secret as updated and the
/// value now current, if it was read or written.
fn update_secret(
    ctx: &Ctx,
    readable: &SafeView,
    visible: Visible,
    change: Change,
) -> Result<(SecretRecord, Option<Vec<u8>>)> {
    let principal = ctx.principal()?;
    let current = visible.record;
    let common = change.common;
    let folder_id = match common.folder_id {
        Some(folder_id) if folder_id != current.folder_id => {
            if !visible.own.contains(SECRET_MOVE.leaving) {
                ctx.audit(
                    SECRET_UPDATE,
                    &secret_target(&current.id),
                    Decision::Deny,
                    Some("moving needs Delete on the secret's safe"),
                );
                return Err(ApiError::forbidden());
            }
            let destination = folder_with(
                ctx,
                readable,
                &folder_id,
                SECRET_MOVE.entering,
                SECRET_UPDATE,
            )?;
            let shares = store::shares_of_secret(&current.id)?;
            if !shares_follow_secret(
                &current.safe_id,
                &destination.safe_id,
                readable.flags(&destination.safe_id),
                shares.iter().map(|s| &s.safe_id),
            ) {
                ctx.audit(
                    SECRET_UPDATE,
                    &secret_target(&current.id),
                    Decision::Deny,
                    Some("its shares would link it from another safe: needs Share there"),
                );
                return Err(ApiError::forbidden());
            }
            destination.id.to_string()
        }
        _ => current.folder_id.clone(),
    };
    if store::title_taken(&folder_id, &common.title, Some(&current.id))? {
        return Err(ApiError::conflict(store::TITLE_TAKEN));
    }
    let owners = match common.owners.filter(|o| !o.is_empty()) {
        Some(owners) => {
            let kept = store::owners_of(std::slice::from_ref(&current.id))?
                .remove(&current.id)
                .unwrap_or_default();
            Some(resolve_owners(
                &Access::new(principal, ctx.now),
                owners,
                &kept,
            )?)
        }
        None => None,
    };
    let urls = common
        .urls
        .map(|urls| resolve_urls(&current.id, urls))
        .transpose()?;
    // A value equal to the current one is no change: no new version, and
    // SecretValueModifiedOn stays. Files compare by hash, the others by value.
    let (new_value, current_value_read) = match change.value {
        None => (None, None),
        Some(value) => {
            let same = match (current.kind, &change.file_hash, &current.file_hash) {
                (Kind::File, Some(new), Some(old)) => new == old,
                (Kind::File, _, _) => false,
                _ => {
                    let old = current_value(&current)?;
                    old == value
                }
            };
            if same {
                (None, Some(value))
            } else {
                (Some(value), None)
            }
        }
    };
    // A new TOTP seed is sealed, like a value, before the row that points at it commits.
    let totp_seed_id = ids::new_id();
    let new_totp_scope = store::totp_scope(&current.id, &totp_seed_id);
    let totp_change = match &change.totp {
        TotpIn::Keep => None,
        TotpIn::Off => Some(TotpChange::Off),
        TotpIn::Set(totp) => {
            storage::seal(&new_totp_scope, &totp.seed)?;
            Some(TotpChange::Set {
                seed_id: &totp_seed_id,
                parameters: totp.parameters,
            })
        }
    };
    let forget_new_totp = || {
        if matches!(change.totp, TotpIn::Set(_)) {
            forget_value(&new_totp_scope);
        }
    };
    // Only what the request sends is written, so that a concurrent change of another
    // field is not undone by this request's older copy of it.
    let changes = SecretChanges {
        folder_id: (folder_id != current.folder_id).then_some(folder_id.as_str()),
        title: Some(&common.title),
        description: common.description.as_deref(),
        username: change.username.as_deref(),
        notes: common.notes.as_deref(),
        file_name: change.file_name.as_deref(),
        file_hash: new_value.as_ref().and(change.file_hash.as_deref()),
        owner: owners.as_ref().map(|o| (o.kind, o.primary)),
        password_rule_id: change.password_rule_id,
        owners: owners.as_ref().map(|o| o.list.as_slice()),
        urls: urls.as_deref(),
        totp: totp_change,
        totp_read: current.totp.as_ref().map(|t| t.seed_id.as_str()),
    };
    let mut update = SecretUpdate {
        id: &current.id,
        changes,
        new_version: None,
        user_id: principal.user_id,
        now: ctx.now,
    };
    let version_note;
    let updated = match &new_value {
        None => {
            version_note = "value unchanged".to_owned();
            store::update_secret(&update).inspect_err(|_| forget_new_totp())?
        }
        Some(value) => {
            let history_id = ids::new_id();
            let reserved = store::reserve_version(
                &current.id,
                &history_id,
                value.len(),
                principal.user_id,
                ctx.now,
            );
            // None: deleted by someone else since it was read.
            let Some(version) = reserved.inspect_err(|_| forget_new_totp())? else {
                forget_new_totp();
                return Err(ApiError::not_found());
            };
            let scope = store::value_scope(&current.id, version);
            if let Err(e) = storage::seal(&scope, value) {
                store::release_version(&history_id);
                forget_new_totp();
                return Err(e.into());
            }
            update.new_version = Some((version, &history_id));
            let updated = store::update_secret(&update);
            if !matches!(updated, Ok(true)) {
                forget_value(&scope);
                store::release_version(&history_id);
            }
            version_note = format!("new version {version}");
            updated.inspect_err(|_| forget_new_totp())?
        }
    };
    if !updated {
        // Deleted by someone else since it was read.
        forget_new_totp();
        return Err(ApiError::not_found());
    }
    let record = store::find_secret(&current.id);
    // The TOTP change applied only if no other one committed since `current` was read
    // (see `store::TotpChange`); either way the seed read then is no longer the row's.
    // A new seed the row does not point at lost that race and is nobody's; when the
    // row cannot be read, the new seed stays (a leak rather than a loss).
    let totp_note = match &change.totp {
        TotpIn::Keep => "",
        TotpIn::Off | TotpIn::Set(_) => {
            if let Some(old) = &current.totp {
                forget_value(&store::totp_scope(&current.id, &old.seed_id));
            }
            match &record {
                Ok(Some(now)) => {
                    let now_seed = now.totp.as_ref().map(|t| t.seed_id.as_str());
                    match (&change.totp, now_seed) {
                        (TotpIn::Set(_), Some(seed)) if seed == totp_seed_id => "; totp set",
                        (TotpIn::Set(_), _) => {
                            forget_new_totp();
                            "; totp not set: changed concurrently"
                        }
                        (_, None) => "; totp off",
                        (_, Some(_)) => "; totp not turned off: changed concurrently",
                    }
                }
                Ok(None) => {
                    // Deleted since the commit: nothing points at the new seed.
                    forget_new_totp();
                    "; totp changed"
                }
                Err(_) => "; totp changed",
            }
        }
    };
    let note = format!(
        "{}; {version_note}; folder={folder_id}{totp_note}",
        change.note
    );
    ctx.audit(
        SECRET_UPDATE,
        &secret_target(&current.id),
        Decision::Allow,
        Some(&note),
    );
    let record = record?.ok_or_else(ApiError::not_found)?;
    Ok((record, new_value.or(current_value_read)))
}

/// The value an update answers with: the one it wrote or compared, else (a text
/// update without Text) the current one, read and audited.
fn updated_value(ctx: &Ctx, record: &SecretRecord, value: Option<Vec<u8>>) -> Result<ValueOut> {
    match value {
        Some(value) => written_value(record.kind, &value),
        None => audited_value(ctx, record, true, "update"),
    }
}

/// `PUT secrets-safe/secrets/{id}`: a credential; 200 with the secret (the library
/// parses the answer, so it cannot be empty).
pub fn put_credential_secret(ctx: &Ctx, id: &str) -> Result<Response> {
    let Changeable {
        readable, visible, ..
    } = secret_for_change(
        ctx,
        id,
        Some(Kind::Credential),
        Endpoint::SecretUpdate,
        SECRET_UPDATE,
    )?;
    let mut body = ctx.json::<SecretIn>()?;
    let totp = body.totp(ApiVersion::from_query(&ctx.query)?)?;
    let fields = body.credential()?;
    let (password, generated) = credential_password(fields.password, fields.password_rule_id)?;
    let note = if generated {
        "password generated"
    } else {
        "password given"
    };
    let (record, value) = update_secret(
        ctx,
        &readable,
        visible,
        Change {
            common: fields.common,
            username: Some(fields.username),
            value: Some(password.into_bytes()),
            file_name: None,
            file_hash: None,
            password_rule_id: fields.password_rule_id,
            note: note.to_owned(),
            totp,
        },
    )?;
    let value = updated_value(ctx, &record, value)?;
    secret_response(StatusCode::OK, &render_one(ctx, record, value)?)
}

/// `PUT secrets-safe/secrets/{id}/text`: 200 with the secret. Without Text the value
/// stays.
pub fn put_text_secret(ctx: &Ctx, id: &str) -> Result<Response> {
    let Changeable {
        readable, visible, ..
    } = secret_for_change(
        ctx,
        id,
        Some(Kind::Text),
        Endpoint::SecretUpdate,
        SECRET_UPDATE,
    )?;
    let fields = ctx.json::<SecretIn>()?.text(false)?;
    let (record, value) = update_secret(
        ctx,
        &readable,
        visible,
        Change {
            common: fields.common,
            username: None,
            value: fields.text.map(String::into_bytes),
            file_name: None,
            file_hash: None,
            password_rule_id: None,
            note: "text".to_owned(),
            totp: TotpIn::Keep,
        },
    )?;
    let value = updated_value(ctx, &record, value)?;
    secret_response(StatusCode::OK, &render_one(ctx, record, value)?)
}

/// `PUT secrets-safe/secrets/{id}/file`: the JSON metadata the reference documents, or
/// multipart as for create; 204. Without a file part only the metadata changes.
pub async fn put_file_secret(ctx: &Ctx, id: &str) -> Result<Response> {
    let Changeable {
        readable, visible, ..
    } = secret_for_change(
        ctx,
        id,
        Some(Kind::File),
        Endpoint::SecretUpdate,
        SECRET_UPDATE,
    )?;
    let upload = multipart::read_update(ctx.content_type.as_deref(), &ctx.body).await?;
    let fields = upload.metadata.file()?;
    let file = multipart::checked_file(upload.file)?;
    let file_name = upload_file_name(fields.file_name, file.as_ref())?;
    let file_hash = file.as_ref().map(|f| crypto::sha256_hex(&f.bytes));
    let note = file.as_ref().map_or_else(
        || "metadata only".to_owned(),
        |f| format!("file of {} bytes", f.bytes.len()),
    );
    update_secret(
        ctx,
        &readable,
        visible,
        Change {
            common: fields.common,
            username: None,
            value: file.map(|f| f.bytes),
            file_name,
            file_hash,
            password_rule_id: None,
            note,
            totp: TotpIn::Keep,
        },
    )?;
    Ok(empty(StatusCode::NO_CONTENT))
}

// ---------------------------------------------------------------- delete

/// How often a delete retries while concurrent updates keep reserving versions.
const DELETE_ATTEMPTS: usize = 16;

/// `DELETE secrets-safe/secrets/{id}`: 200 (what the library checks for). The rows go
/// in one transaction, on condition that no version was reserved since the highest
/// one was read and the TOTP seed is the one read (else it reads again, a bounded
/// number of times: 409 after that); then every sealed version up to that one is
/// forgotten, including one an update committed meanwhile, and that seed. An update that reserved a version before the delete but seals
/// it after finds the secret gone, and forgets its value itself.
pub fn delete_secret(ctx: &Ctx, id: &str) -> Result<Response> {
    secret_for_change(ctx, id, None, Endpoint::SecretDelete, SECRET_DELETE)?;
    let mut deleted = None;
    for _ in 0..DELETE_ATTEMPTS {
        let max_version = store::max_version(id)?;
        // Its TOTP seed as it is now: the delete holds only while it is still that one.
        let Some(record) = store::find_secret(id)? else {
            return Err(ApiError::not_found());
        };
        let totp_seed = record.totp.map(|t| t.seed_id);
        if store::delete_secret(id, max_version, totp_seed.as_deref())? {
            deleted = Some((max_version, totp_seed));
            break;
        }
    }
    let Some((max_version, totp_seed)) = deleted else {
        if store::find_secret(id)?.is_none() {
            return Err(ApiError::not_found());
        }
        return Err(ApiError::conflict(
            "id: the secret is being changed; try the delete again",
        ));
    };
    for version in 1..=max_version {
        forget_value(&store::value_scope(id, version));
    }
    if let Some(seed_id) = totp_seed {
        forget_value(&store::totp_scope(id, &seed_id));
    }
    let note = format!("versions forgotten={max_version}");
    ctx.audit(
        SECRET_DELETE,
        &secret_target(id),
        Decision::Allow,
        Some(&note),
    );
    Ok(empty(StatusCode::OK))
}

// ---------------------------------------------------------------- shares

fn share_out(record: &SecretRecord, folder_id: &str, folder_path: String) -> ShareOut {
    ShareOut {
        secret_id: record.id.clone(),
        folder_id: folder_id.to_owned(),
        folder_path,
        secret_name: record.title.clone(),
    }
}

/// `POST secrets-safe/secrets/{id}/shares/{folder id}`: 201 with the share. Needs Share
/// on the secret's safe and Create on the folder's; 409 when it is shared there
/// already or lives there.
pub fn post_share(ctx: &Ctx, id: &SecretId, folder_id: &FolderId) -> Result<Response> {
    let Changeable {
        readable, visible, ..
    } = secret_for_change(ctx, id, None, Endpoint::ShareCreate, SECRET_SHARE)?;
    let folder = folder_with(ctx, &readable, folder_id, Flags::CREATE, SECRET_SHARE)?;
    refuse_share_into_personal(&folder.safe_id, "folderId")?;
    if folder.id == visible.record.folder_id {
        return Err(ApiError::conflict(
            "folder: the secret lives in this folder",
        ));
    }
    store::insert_share(id, &folder.id, ctx.principal()?.user_id, ctx.now)?;
    let note = format!("folder={}", folder.id);
    ctx.audit(
        SECRET_SHARE,
        &secret_target(id),
        Decision::Allow,
        Some(&note),
    );
    let path = folders::path(&folder.id)?;
    json(
        StatusCode::CREATED,
        &share_out(&visible.record, &folder.id, path),
    )
}

/// `GET secrets-safe/secrets/{id}/shares`: the folders the secret is shared into that
/// the caller can read.
pub fn get_shares(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = feature_access(ctx, Endpoint::ShareList, SECRET_READ, &secret_target(id))?;
    let readable = access.safe_view()?;
    let visible = visible_secret(ctx, &readable, id, SECRET_READ)?;
    let paths = folders::all_paths()?;
    let shares: Vec<ShareOut> = store::shares_of_secret(id)?
        .into_iter()
        .filter(|s| readable.can_read(&s.safe_id))
        .map(|s| {
            let path = paths.get(&s.folder_id).cloned().unwrap_or_default();
            share_out(&visible.record, &s.folder_id, path)
        })
        .collect();
    json(StatusCode::OK, &shares)
}

/// `DELETE secrets-safe/secrets/{id}/shares/{folder id}`: 204; 404 when it is not
/// shared there. Needs Share on the secret's safe.
pub fn delete_share(ctx: &Ctx, id: &SecretId, folder_id: &FolderId) -> Result<Response> {
    secret_for_change(ctx, id, None, Endpoint::ShareDelete, SECRET_UNSHARE)?;
    if !store::delete_share(id, folder_id)? {
        return Err(ApiError::not_found());
    }
    let note = format!("folder={folder_id}");
    ctx.audit(
        SECRET_UNSHARE,
        &secret_target(id),
        Decision::Allow,
        Some(&note),
    );
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `DELETE secrets-safe/secrets/{id}/shares`: 204, also when there were none.
pub fn delete_shares(ctx: &Ctx, id: &str) -> Result<Response> {
    secret_for_change(ctx, id, None, Endpoint::ShareDeleteAll, SECRET_UNSHARE)?;
    let removed = store::delete_shares(id)?;
    let note = format!("shares removed={removed}");
    ctx.audit(
        SECRET_UNSHARE,
        &secret_target(id),
        Decision::Allow,
        Some(&note),
    );
    Ok(empty(StatusCode::NO_CONTENT))
}

// ---------------------------------------------------------------- favourite

/// `PUT secrets-safe/secrets/{id}/favorite` `{Favorite}`: 204, idempotent; the mark
/// is the caller's own.
pub fn put_favorite(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = feature_access(
        ctx,
        Endpoint::SecretFavorite,
        SECRET_FAVORITE,
        &secret_target(id),
    )?;
    let readable = access.safe_view()?;
    visible_secret(ctx, &readable, id, SECRET_FAVORITE)?;
    let favorite = ctx.json::<FavoriteIn>()?.validate()?;
    store::set_favorite(ctx.principal()?.user_id, id, favorite)?;
    Ok(empty(StatusCode::NO_CONTENT))
}

// ---------------------------------------------------------------- move

/// A title free in the destination: `Title (1)`, `Title (2)`, ..., shortening the
/// title so that the result stays within 256 characters.
fn free_title(title: &str, taken: &HashSet<String>) -> String {
    (1_u32..)
        .map(|n| {
            let suffix = format!(" ({n})");
            let room = TITLE_MAX.saturating_sub(suffix.chars().count());
            let base: String = title.chars().take(room).collect();
            format!("{}{suffix}", base.trim_end())
        })
        .find(|candidate| !taken.contains(&candidate.to_lowercase()))
        .unwrap_or_else(|| title.to_owned())
}

/// `PUT secrets-safe/secrets/move`: moves secrets (Delete on their safe, Create on the
/// destination's) and shares (within the destination's safe, Delete there) into one
/// folder; 200 with what happened to each id. With `Stop`, a taken title moves
/// nothing at all.
pub fn put_move_secrets(ctx: &Ctx) -> Result<Response> {
    let access = feature_access(ctx, Endpoint::SecretMove, SECRET_MOVE_ACTION, "secrets")?;
    let fields = ctx.json::<MoveIn>()?.validate()?;
    let readable = access.safe_view()?;
    let destination = folder_with(
        ctx,
        &readable,
        &fields.destination,
        SECRET_MOVE.entering,
        SECRET_MOVE_ACTION,
    )?;
    let mut out = MoveOut {
        destination_folder_id: destination.id.to_string(),
        secrets_count: fields.secret_ids.len(),
        shares_count: fields.share_ids.len(),
        ..MoveOut::default()
    };
    let mut taken = store::titles_in(&destination.id)?;
    let mut stop = false;
    let mut secret_moves: Vec<(String, String)> = Vec::new();
    let mut moved_here: HashSet<String> = HashSet::new();
    for id in &fields.secret_ids {
        let Some(record) = store::find_secret(id)? else {
            out.secrets_not_found.push(id.clone());
            continue;
        };
        let own = readable.flags(&record.safe_id);
        let shares = store::shares_of_secret(id)?;
        if !readable.can_see_secret(&record.safe_id, shares.iter().map(|s| &s.safe_id)) {
            out.secrets_not_found.push(id.clone());
            continue;
        }
        if record.folder_id == destination.id {
            out.secrets_moved_count += 1;
            moved_here.insert(id.clone());
            continue;
        }
        if !own.contains(SECRET_MOVE.leaving)
            || !shares_follow_secret(
                &record.safe_id,
                &destination.safe_id,
                readable.flags(&destination.safe_id),
                shares.iter().map(|s| &s.safe_id),
            )
        {
            out.secrets_failed_validation.push(id.clone());
            continue;
        }
        let mut title = record.title.clone();
        if taken.contains(&title.to_lowercase()) {
            match fields.on_duplicate {
                DuplicateNameAction::Rename => {
                    title = free_title(&record.title, &taken);
                    out.secrets_renamed.push(id.clone());
                }
                DuplicateNameAction::Skip => {
                    out.secrets_skipped.push(id.clone());
                    continue;
                }
                DuplicateNameAction::Stop => {
                    out.errors.push(format!(
                        "secret {id}: a secret with this title already exists in the destination folder"
                    ));
                    stop = true;
                    break;
                }
            }
        }
        taken.insert(title.to_lowercase());
        moved_here.insert(id.clone());
        secret_moves.push((id.clone(), title));
    }
    let mut share_moves: Vec<(String, String, bool)> = Vec::new();
    if !stop {
        let dest_flags = readable.flags(&destination.safe_id);
        for id in &fields.share_ids {
            let record = match store::find_secret(id)? {
                Some(record) => record,
                None => {
                    out.shares_not_found.push(id.clone());
                    continue;
                }
            };
            let shares: Vec<ShareRecord> = store::shares_of_secret(id)?
                .into_iter()
                .filter(|s| readable.can_read(&s.safe_id))
                .collect();
            if shares.is_empty() {
                out.shares_not_found.push(id.clone());
                continue;
            }
            let Some(share) = shares
                .iter()
                .find(|s| s.safe_id == destination.safe_id)
                .cloned()
            else {
                out.shares_not_moved_to_different_safe.push(id.clone());
                continue;
            };
            if !dest_flags.contains(Flags::DELETE) {
                out.shares_failed_validation.push(id.clone());
                continue;
            }
            if share.folder_id == destination.id {
                out.shares_moved_count += 1;
                continue;
            }
            // The secret itself is (or lands) there: the share has nothing to add.
            let remove = record.folder_id == destination.id || moved_here.contains(id);
            if remove {
                out.shares_removed.push(id.clone());
            } else {
                out.shares_moved_count += 1;
            }
            share_moves.push((id.clone(), share.folder_id.clone(), remove));
        }
    }
    if stop {
        out.secrets_moved_count = 0;
        out.secrets_renamed.clear();
    } else {
        let secrets: Vec<SecretMove<'_>> = secret_moves
            .iter()
            .map(|(id, title)| SecretMove { id, title })
            .collect();
        let shares: Vec<ShareMove<'_>> = share_moves
            .iter()
            .map(|(secret_id, from_folder, remove)| ShareMove {
                secret_id,
                from_folder,
                remove: *remove,
            })
            .collect();
        store::apply_move(
            &destination.id,
            &secrets,
            &shares,
            ctx.principal()?.user_id,
            ctx.now,
        )?;
        out.secrets_moved_count += secret_moves.len();
        for (id, _) in &secret_moves {
            let note = format!("folder={}", destination.id);
            ctx.audit(
                SECRET_MOVE_ACTION,
                &secret_target(id),
                Decision::Allow,
                Some(&note),
            );
        }
        for (id, from, _) in &share_moves {
            let note = format!("share from={from}; to={}", destination.id);
            ctx.audit(
                SECRET_MOVE_ACTION,
                &secret_target(id),
                Decision::Allow,
                Some(&note),
            );
        }
    }
    json(StatusCode::OK, &out)
}

// ---------------------------------------------------------------- versions (API 3.3)

/// `GET secrets-safe/secrets/{id}/versions`: the value history of a secret of any
/// kind, newest first (metadata only, so no value read to audit).
pub fn get_secret_versions(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = feature_access(
        ctx,
        Endpoint::SecretHistory,
        SECRET_READ,
        &secret_target(id),
    )?;
    let readable = access.safe_view()?;
    let visible = visible_secret(ctx, &readable, id, SECRET_READ)?;
    let versions = store::list_versions(id)?;
    json(
        StatusCode::OK,
        &VersionHistoryOut::new(&visible.record, &versions),
    )
}

/// A version of secret `id` by its id; 404 when the secret has none of that id (or it
/// was never committed).
fn version_of(id: &str, version_id: &str) -> Result<(store::VersionRecord, Vec<u8>)> {
    let version = store::find_version(id, version_id)?.ok_or_else(ApiError::not_found)?;
    let scope = store::value_scope(id, version.version);
    match storage::unseal(&scope)? {
        Some(value) => Ok((version, value)),
        // Deleted or destroyed since the row was read: as if that had come first.
        None if store::find_version(id, version_id)?.is_none() => Err(ApiError::not_found()),
        None => Err(ApiError::internal(format!(
            "secret {id} has no sealed value for version {}",
            version.version
        ))),
    }
}

/// `GET secrets-safe/secrets/{password|text|file}/{id}/versions/{versionId}`: the
/// value a version holds, as the official client reads it: the body itself (plain
/// UTF-8 text for a password or text, the file as an attachment under the name it had
/// then). The route's kind must be the secret's (404 otherwise, as for `/text`); the
/// read is audited before the value goes out, like a read of the current value.
pub fn get_secret_version(ctx: &Ctx, kind: Kind, id: &str, version_id: &str) -> Result<Response> {
    let access = feature_access(
        ctx,
        Endpoint::SecretHistory,
        SECRET_READ,
        &secret_target(id),
    )?;
    let readable = access.safe_view()?;
    let visible = visible_secret_of_kind(ctx, &readable, id, kind, SECRET_READ)?;
    let (version, value) = version_of(id, version_id)?;
    let note = format!("version read; version={}", version.version);
    ctx.try_audit(
        SECRET_READ,
        &secret_target(id),
        Decision::Allow,
        Some(&note),
    )?;
    if kind == Kind::File {
        let file_name = version.file_name.or(visible.record.file_name);
        return attachment(value, file_name.as_deref().unwrap_or("secret"));
    }
    let mut response = empty(StatusCode::OK);
    *response.body_mut() = utf8(value)?.into_bytes();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    no_store(response)
}

/// `POST secrets-safe/secrets/{id}/versions/{versionId}/rollback`: 204. The version's
/// value becomes a new current version (a file gets back its name and hash too); the
/// history is never rewritten. Needs Update on the secret's safe, like any update. A
/// rollback to the value already current changes nothing.
pub fn post_secret_rollback(ctx: &Ctx, id: &str, version_id: &str) -> Result<Response> {
    let Changeable { readable, visible } =
        secret_for_change(ctx, id, None, Endpoint::SecretRollback, SECRET_UPDATE)?;
    let (version, value) = version_of(id, version_id)?;
    let (file_name, file_hash) = match visible.record.kind {
        Kind::File => (
            version
                .file_name
                .or_else(|| visible.record.file_name.clone()),
            Some(crypto::sha256_hex(&value)),
        ),
        Kind::Credential | Kind::Text => (None, None),
    };
    let common = CommonFields {
        title: visible.record.title.clone(),
        ..CommonFields::default()
    };
    update_secret(
        ctx,
        &readable,
        visible,
        Change {
            common,
            username: None,
            value: Some(value),
            file_name,
            file_hash,
            password_rule_id: None,
            note: format!("rollback to version {}", version.version),
            totp: TotpIn::Keep,
        },
    )?;
    Ok(empty(StatusCode::NO_CONTENT))
}

// ---------------------------------------------------------------- TOTP (API 3.3)

/// `GET secrets-safe/secrets/{id}/totp/code`: the current code of a credential's TOTP
/// and the seconds it is valid in, from the clock (`ValidToUtc` exclusive). 400 for a
/// text or file secret, 404 when there is no such secret or its TOTP is off; each code
/// handed out is a `secret.read` event first.
pub fn get_totp_code(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = feature_access(
        ctx,
        Endpoint::SecretHistory,
        SECRET_READ,
        &secret_target(id),
    )?;
    let readable = access.safe_view()?;
    let visible = visible_secret(ctx, &readable, id, SECRET_READ)?;
    if visible.record.kind != Kind::Credential {
        return Err(ApiError::bad_request(
            "secretId",
            "only credential secrets have TOTP codes",
        ));
    }
    let state = visible.record.totp.ok_or_else(ApiError::not_found)?;
    let seed = storage::unseal(&store::totp_scope(id, &state.seed_id))?
        .ok_or_else(|| ApiError::internal(format!("secret {id} has no sealed TOTP seed")))?;
    let code = totp::code_at(&seed, state.parameters, ctx.now)?;
    ctx.try_audit(
        SECRET_READ,
        &secret_target(id),
        Decision::Allow,
        Some("totp code"),
    )?;
    no_store(json(StatusCode::OK, &TotpCodeOut::from(code))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_escapes() {
        assert_eq!(
            content_disposition("a b.txt"),
            "attachment; filename=\"a b.txt\"; filename*=UTF-8''a%20b.txt"
        );
        assert_eq!(
            content_disposition("q\"\\é.bin"),
            "attachment; filename=\"q\\\"\\\\_.bin\"; filename*=UTF-8''q%22%5C%C3%A9.bin"
        );
        assert!(HeaderValue::from_str(&content_disposition("ünï\"cødé;\u{1F600}")).is_ok());
    }

    #[test]
    fn free_titles() {
        let taken: HashSet<String> = ["a".to_owned(), "a (1)".to_owned()].into();
        assert_eq!(free_title("A", &taken), "A (2)");
        let long = "x".repeat(256);
        let renamed = free_title(&long, &HashSet::new());
        assert_eq!(renamed.chars().count(), 256);
        assert!(renamed.ends_with(" (1)"));
    }
}
