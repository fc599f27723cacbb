//! The folders area's handlers, one per route and method.
//!
//! Each one checks the feature level its `Endpoint` needs first (403), then the input (415/400), then
//! the folders it touches through the caller's permissions on their safes (404 when
//! the caller may not read the safe, exactly as for a folder that does not exist; 403
//! when they may read it but lack the flag), then the tree's rules (400/409), and only
//! then writes, in one transaction, and records the change in the audit trail.

use edgesafe_api_common::response::{empty, json, Response};
use edgesafe_api_common::vault::Decision;
use edgesafe_api_common::{ApiError, Result};
use edgesafe_secrets_safe::access::refuse_share_into_personal;
use edgesafe_secrets_safe::ids::SafeId;
use edgesafe_secrets_safe::{folders, ids, Access, Endpoint, FavoriteIn, Flags, Folder};
use http::StatusCode;

use crate::dto::{
    DuplicateNameAction, FolderIn, FolderOut, GroupChange, ImportResult, LineError, ListFilter,
    MoveIn, MoveOut, MAX_DEPTH, NAME_MAX,
};
use crate::store::{self, FolderFields, FolderView, NewFolderRow};
use crate::{import, listing, Ctx};

fn folder_target(id: &str) -> String {
    format!("folder:{id}")
}

/// The folder `id` as the caller sees it, when they hold `need` on its safe: 404 when
/// it does not exist or they may not read its safe, 403 when they may read it but
/// lack `need` (the rule of `Access::folder`, on the view the answer needs).
fn visible(access: &Access<'_>, id: &str, need: Flags) -> Result<FolderView> {
    let view = store::view(id, access.principal.user_id)?.ok_or_else(ApiError::not_found)?;
    access.require_on_safe(&view.folder.safe_id, need)?;
    Ok(view)
}

/// The answer for one folder, path included.
fn folder_out(id: &str, reader: i64) -> Result<FolderOut> {
    // The folder was just read or written under the caller's permissions; if it is
    // gone now, someone deleted it in between.
    let view = store::view(id, reader)?.ok_or_else(ApiError::not_found)?;
    Ok(FolderOut::new(&view, folders::path(id)?))
}

/// Safes and personal folders are roots: they are changed elsewhere, or not at all.
fn refuse_safe(folder: &Folder, what: &str) -> Result<()> {
    if folder.personal_user_id.is_some() {
        return Err(ApiError::bad_request(
            "Id",
            "is a personal folder, which stays as it is",
        ));
    }
    if folder.is_root() {
        return Err(ApiError::bad_request("Id", &format!("is a safe; {what}")));
    }
    Ok(())
}

/// Checks that `folder` may move below `destination_id` (named `field` in the body):
/// the caller must see the destination (404) and hold what the move needs on both
/// safes (`Access::require_folder_move`; 403), the destination must not be the folder
/// or below it (400), the moved subtree must fit under the depth limit (400), and a
/// move to another safe must not let a share carry a secret where no Share holder of
/// its safe put it (`Access::require_shares_follow`; 403).
fn destination(
    access: &Access<'_>,
    folder: &Folder,
    destination_id: &str,
    field: &str,
) -> Result<Folder> {
    let destination = visible(access, destination_id, Flags::READ)?.folder;
    access.require_folder_move(folder, &destination)?;
    if store::is_within(&destination.id, &folder.id)? {
        return Err(ApiError::bad_request(
            field,
            "a folder cannot move into itself or a folder below it",
        ));
    }
    let height = store::subtree(&folder.id)?.height;
    if store::depth(&destination.id)?.saturating_add(height) > MAX_DEPTH {
        return Err(ApiError::bad_request(
            field,
            "folders nest at most 7 levels deep, the safe included",
        ));
    }
    if destination.safe_id != folder.safe_id {
        access.require_shares_follow(&store::shares_crossing(&folder.id, &destination.safe_id)?)?;
        if store::subtree(&folder.id)?.shares > 0 {
            refuse_share_into_personal(&destination.safe_id, field)?;
        }
    }
    Ok(destination)
}

/// What the move's own statement re-checks shares against: the safes on which the
/// caller holds Share, when the move changes safes and he is no administrator.
fn share_approved(
    access: &Access<'_>,
    folder: &Folder,
    destination: &Folder,
) -> Result<Option<Vec<SafeId>>> {
    if destination.safe_id == folder.safe_id {
        return Ok(None);
    }
    access.share_approved()
}

// ---------------------------------------------------------------- list and read

/// `GET secrets-safe/folders`: the folders (and safes) of every safe the caller may
/// read, filtered and paged (see `listing`).
pub fn get_folders(ctx: &Ctx) -> Result<Response> {
    let access = Access::for_endpoint(ctx, Endpoint::FolderList)?;
    let filter = ListFilter::from_query(&ctx.query)?;
    let safes: Vec<String> = access
        .readable_safes()?
        .into_keys()
        .map(|s| s.to_string())
        .collect();
    let views = store::views_in_safes(&safes, access.principal.user_id)?;
    json(StatusCode::OK, &listing::select(&views, &filter))
}

/// `GET secrets-safe/folders/{id}`.
pub fn get_folder(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = Access::for_endpoint(ctx, Endpoint::FolderRead)?;
    let view = visible(&access, id, Endpoint::FolderRead.safe_flag())?;
    let path = folders::path(id)?;
    json(StatusCode::OK, &FolderOut::new(&view, path))
}

// ---------------------------------------------------------------- create, update, delete

/// `POST secrets-safe/folders`: a folder below a safe or folder (`ParentId`), owned
/// by the caller. Needs Create on the parent's safe.
pub fn post_folders(ctx: &Ctx) -> Result<Response> {
    let access = Access::for_endpoint(ctx, Endpoint::FolderCreate)?;
    let input = ctx.json::<FolderIn>()?.validate_new()?;
    let user = access.principal.user_id;
    let parent = visible(
        &access,
        &input.parent_id,
        Endpoint::FolderCreate.safe_flag(),
    )?
    .folder;
    if store::depth(&parent.id)? >= MAX_DEPTH {
        return Err(ApiError::bad_request(
            "ParentId",
            "folders nest at most 7 levels deep, the safe included",
        ));
    }
    if store::name_taken(&parent.id, &input.name, None)? {
        return Err(ApiError::conflict(store::NAME_TAKEN));
    }
    // UserGroupId is deprecated: kept when it names a group the caller may name,
    // otherwise left out, the same for a group that does not exist.
    let user_group_id = match input.user_group_id {
        Some(group) if access.may_name_group(group)? => Some(group),
        _ => None,
    };
    let id = ids::new_id();
    let inserted = store::insert_folder(
        &NewFolderRow {
            id: &id,
            parent_id: &parent.id,
            name: &input.name,
            description: &input.description,
            owner: user,
            user_group_id,
        },
        ctx.now,
    )?;
    if !inserted {
        // The parent was deleted between the check and the insert.
        return Err(ApiError::not_found());
    }
    ctx.audit(
        "folder.create",
        &folder_target(&id),
        Decision::Allow,
        Some(&format!("parent={}; safe={}", parent.id, parent.safe_id)),
    );
    json(StatusCode::CREATED, &folder_out(&id, user)?)
}

/// `PUT secrets-safe/folders/{id}`: changes the fields present in the body (absent or
/// null ones keep their value); a different `ParentId` moves the folder, refusing a
/// duplicate name there (409). Needs Update on the safe; a move needs what
/// `PUT folders/{id}/move` needs. Answers with the folder.
pub fn put_folder(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = Access::for_endpoint(ctx, Endpoint::FolderUpdate)?;
    let input = ctx.json::<FolderIn>()?.validate_update()?;
    let user = access.principal.user_id;
    let folder = visible(&access, id, Flags::READ)?.folder;
    refuse_safe(&folder, "update safes with PUT secrets-safe/safes/{id}")?;
    access.require_on_safe(&folder.safe_id, Endpoint::FolderUpdate.safe_flag())?;
    let current_parent = folder.parent_id.as_deref().unwrap_or_default().to_owned();
    let (parent_id, share_approved) = match &input.parent_id {
        Some(new_parent) if *new_parent != current_parent => {
            let destination = destination(&access, &folder, new_parent, "ParentId")?;
            let approved = share_approved(&access, &folder, &destination)?;
            (destination.id.to_string(), approved)
        }
        _ => (current_parent.clone(), None),
    };
    let name = input.name.unwrap_or_else(|| folder.name.clone());
    if store::name_taken(&parent_id, &name, Some(&folder.id))? {
        return Err(ApiError::conflict(store::NAME_TAKEN));
    }
    let user_group_id = match input.user_group {
        GroupChange::Clear => None,
        GroupChange::Set(group) if access.may_name_group(group)? => Some(group),
        GroupChange::Set(_) | GroupChange::Keep => folder.user_group_id,
    };
    let description = input
        .description
        .unwrap_or_else(|| folder.description.clone());
    let fields = FolderFields {
        name: &name,
        description: &description,
        user_group_id,
    };
    let note = if parent_id == current_parent {
        store::update_folder(&folder.id, &fields, user, ctx.now)?;
        None
    } else {
        let moved = store::relocate_folder(
            &folder.id,
            &parent_id,
            &fields,
            share_approved.as_deref(),
            user,
            ctx.now,
        )?;
        if !moved {
            return Err(ApiError::conflict(
                "ParentId: the tree or its shares changed during the move; try again",
            ));
        }
        Some(format!("moved from={current_parent} to={parent_id}"))
    };
    ctx.audit(
        "folder.update",
        &folder_target(&folder.id),
        Decision::Allow,
        note.as_deref(),
    );
    json(StatusCode::OK, &folder_out(&folder.id, user)?)
}

/// `DELETE secrets-safe/folders/{id}`: the folder and every (empty) folder below it,
/// in one transaction. Refused (409) while any of them holds secrets. Shares of other
/// folders' secrets into them do not block: the shares go with the folders, and the
/// secrets stay where they live. Needs Delete on the safe. 204, as the library wants.
pub fn delete_folder(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = Access::for_endpoint(ctx, Endpoint::FolderDelete)?;
    let folder = visible(&access, id, Flags::READ)?.folder;
    refuse_safe(&folder, "delete safes with DELETE secrets-safe/safes/{id}")?;
    access.require_on_safe(&folder.safe_id, Endpoint::FolderDelete.safe_flag())?;
    if store::subtree(&folder.id)?.secrets > 0 {
        return Err(ApiError::conflict(store::HOLDS_SECRETS));
    }
    let deleted = store::delete_subtree(&folder.id)?;
    ctx.audit(
        "folder.delete",
        &folder_target(&folder.id),
        Decision::Allow,
        Some(&format!(
            "safe={}; folders={}; shares_removed={}",
            folder.safe_id, deleted.folders, deleted.shares
        )),
    );
    Ok(empty(StatusCode::NO_CONTENT))
}

// ---------------------------------------------------------------- move and favourite

/// `PUT secrets-safe/folders/{id}/move`: moves the folder (and its subtree) below
/// `DestinationFolderId`. A folder of the same name there: `Stop` refuses (409),
/// `Skip` leaves the folder where it is, `Rename` moves it as `Name (1)`, `Name (2)`...
/// Needs Update on the folder's safe; to another safe, also Delete there, Create on
/// the destination's safe, and Share on the safes of secrets whose shares would
/// cross safes (see `edgesafe_secrets_safe::access`). Answers 200 with the folder as
/// it now is and a move summary.
pub fn put_folder_move(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = Access::for_endpoint(ctx, Endpoint::FolderMove)?;
    let input = ctx.json::<MoveIn>()?.validate()?;
    let user = access.principal.user_id;
    let folder = visible(&access, id, Flags::READ)?.folder;
    refuse_safe(&folder, "a safe cannot be moved")?;
    access.require_on_safe(&folder.safe_id, Endpoint::FolderMove.safe_flag())?;
    let destination = destination(
        &access,
        &folder,
        &input.destination_id,
        "DestinationFolderId",
    )?;
    let unchanged = |reason: &str| -> Result<Response> {
        ctx.audit(
            "folder.move",
            &folder_target(&folder.id),
            Decision::Allow,
            Some(&format!("not moved: {reason}")),
        );
        json(
            StatusCode::OK,
            &MoveOut {
                folder: folder_out(&folder.id, user)?,
                folder_id: folder.id.to_string(),
                old_parent_id: folder.parent_id.as_deref().map(str::to_owned),
                folder_count: 0,
                secret_count: 0,
                share_count: 0,
                new_folder_name: folder.name.clone(),
                old_folder_name: folder.name.clone(),
            },
        )
    };
    if folder.parent_id.as_deref() == Some(destination.id.as_str()) {
        return unchanged("already there");
    }
    let name = if store::name_taken(&destination.id, &folder.name, Some(&folder.id))? {
        match input.on_duplicate {
            DuplicateNameAction::Stop => return Err(ApiError::conflict(store::NAME_TAKEN)),
            DuplicateNameAction::Skip => return unchanged("duplicate name skipped"),
            DuplicateNameAction::Rename => {
                store::free_name(&destination.id, &folder.name, NAME_MAX)?
            }
        }
    } else {
        folder.name.clone()
    };
    let moved = store::subtree(&folder.id)?;
    let fields = FolderFields {
        name: &name,
        description: &folder.description,
        user_group_id: folder.user_group_id,
    };
    let moved_now = store::relocate_folder(
        &folder.id,
        &destination.id,
        &fields,
        share_approved(&access, &folder, &destination)?.as_deref(),
        user,
        ctx.now,
    )?;
    if !moved_now {
        return Err(ApiError::conflict(
            "DestinationFolderId: the tree or its shares changed during the move; try again",
        ));
    }
    ctx.audit(
        "folder.move",
        &folder_target(&folder.id),
        Decision::Allow,
        Some(&format!(
            "from={} to={}; safe={} -> {}; folders={}; renamed={}",
            folder.parent_id.as_deref().unwrap_or("-"),
            destination.id,
            folder.safe_id,
            destination.safe_id,
            moved.folders,
            name != folder.name,
        )),
    );
    json(
        StatusCode::OK,
        &MoveOut {
            folder: folder_out(&folder.id, user)?,
            folder_id: folder.id.to_string(),
            old_parent_id: folder.parent_id.as_deref().map(str::to_owned),
            folder_count: moved.folders,
            secret_count: moved.secrets,
            share_count: moved.shares,
            new_folder_name: name,
            old_folder_name: folder.name.clone(),
        },
    )
}

/// `PUT secrets-safe/folders/{id}/favorite`: marks or unmarks the folder (or safe) as
/// one of the caller's favourites. Reading the folder is enough. 204.
pub fn put_folder_favorite(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = Access::for_endpoint(ctx, Endpoint::FolderFavorite)?;
    let favorite = ctx.json::<FavoriteIn>()?.validate()?;
    let folder = visible(&access, id, Endpoint::FolderFavorite.safe_flag())?.folder;
    store::set_favorite(access.principal.user_id, &folder.id, favorite)?;
    ctx.audit(
        "folder.favorite",
        &folder_target(&folder.id),
        Decision::Allow,
        Some(&format!("favorite={favorite}")),
    );
    Ok(empty(StatusCode::NO_CONTENT))
}

// ---------------------------------------------------------------- CSV import

/// `POST secrets-safe/folders/{id}/upload` (and `POST .../{id}`): credential secrets
/// from a CSV file (layout in `import`). Needs Create on the folder's safe, checked
/// before anything is read. 201 with the counts and one error per refused line, even
/// when every line was refused.
pub async fn post_folder_upload(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = Access::for_endpoint(ctx, Endpoint::FolderImport)?;
    let folder = visible(&access, id, Endpoint::FolderImport.safe_flag())?.folder;
    let file = import::csv_file(ctx.content_type.as_deref(), ctx.body.clone()).await?;
    let lines = import::read_csv(&file)?;
    let owner = access.principal.user_id;
    let mut result = ImportResult {
        total: lines.len(),
        ..ImportResult::default()
    };
    for line in lines {
        let outcome = match &line.content {
            Ok(secret) => import::create_secret(ctx, &folder.id, secret, owner).await,
            Err(reason) => Err(reason.clone()),
        };
        match outcome {
            Ok(()) => result.imported += 1,
            Err(error) => result.errors.push(LineError {
                line_number: line.number,
                error,
            }),
        }
    }
    ctx.audit(
        "folder.import",
        &folder_target(&folder.id),
        Decision::Allow,
        Some(&format!(
            "safe={}; lines={}; imported={}; failed={}",
            folder.safe_id,
            result.total,
            result.imported,
            result.errors.len()
        )),
    );
    json(StatusCode::CREATED, &result.to_wire())
}
