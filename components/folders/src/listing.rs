//! `GET folders`: the filters and the order, over the folders of the safes the caller
//! may read.
//!
//! A folder's ancestors all live in its safe, so the paths of a whole set of safes can
//! be built from that set alone, with no query per folder. Filters combine with AND:
//!
//! - `FolderName`: any part of the name, in any case.
//! - `FolderPath`: the folder at that `/`-separated path (names in any case; leading,
//!   trailing and doubled `/` ignored) and, unless `IncludeSubfolders=false`, every
//!   folder below it. `IncludeSubfolders` has no other effect: the library always sends
//!   it (`True`), and ps-cli finds a folder by name expecting just the matches.
//! - `RootOnly`: safes only.
//! - `FolderOwnerId`: folders owned by that user.
//!
//! The order is the tree's, depth first, names compared without case, so it is stable
//! from one page to the next; `Offset` and `Limit` then cut the page.

use std::collections::HashMap;

use crate::dto::{FolderOut, ListFilter};
use crate::store::FolderView;

/// How deep a path is followed; deeper trees are damaged (see `dto::MAX_DEPTH`).
const MAX_WALK: usize = 64;

/// The names on the path of every folder in `views`, from the safe down.
fn paths(views: &[FolderView]) -> HashMap<&str, Vec<&str>> {
    let by_id: HashMap<&str, &FolderView> =
        views.iter().map(|v| (v.folder.id.as_str(), v)).collect();
    by_id
        .iter()
        .map(|(id, view)| {
            let mut names = vec![view.folder.name.as_str()];
            let mut at = view.folder.parent_id.as_deref();
            while let Some(parent) = at.and_then(|p| by_id.get(p)) {
                if names.len() > MAX_WALK {
                    break;
                }
                names.push(parent.folder.name.as_str());
                at = parent.folder.parent_id.as_deref();
            }
            names.reverse();
            (*id, names)
        })
        .collect()
}

fn matches_path(names: &[String], wanted: &[String], include_subfolders: bool) -> bool {
    if include_subfolders {
        names.starts_with(wanted)
    } else {
        names == wanted
    }
}

/// The page of folders `filter` selects, in order, with their paths.
pub fn select(views: &[FolderView], filter: &ListFilter) -> Vec<FolderOut> {
    let paths = paths(views);
    let mut selected: Vec<(Vec<String>, &FolderView, String)> = views
        .iter()
        .filter_map(|view| {
            let folder = &view.folder;
            let names = paths.get(folder.id.as_str())?;
            let lowered: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
            if filter.root_only && !folder.is_root() {
                return None;
            }
            if let Some(needle) = &filter.name {
                if !folder.name.to_lowercase().contains(needle.as_str()) {
                    return None;
                }
            }
            if let Some(wanted) = &filter.path {
                if !matches_path(&lowered, wanted, filter.include_subfolders) {
                    return None;
                }
            }
            if filter.owner_id.is_some() && folder.owner_user_id != filter.owner_id {
                return None;
            }
            Some((lowered, view, names.join("/")))
        })
        .collect();
    // Comparing name lists, not joined strings, keeps every folder right after its
    // parent ("A", "A/B", "A B"); the id breaks ties between names equal but for case.
    selected.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.folder.id.cmp(&b.1.folder.id))
    });
    filter
        .page
        .of(selected)
        .map(|(_, view, path)| FolderOut::new(view, path))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgesafe_secrets_safe::ids::{FolderId, SafeId};
    use edgesafe_secrets_safe::paging::Page;
    use edgesafe_secrets_safe::Folder;

    fn view(id: &str, parent: Option<&str>, name: &str, owner: i64) -> FolderView {
        FolderView {
            folder: Folder {
                id: FolderId::new(id),
                parent_id: parent.map(FolderId::new),
                safe_id: SafeId::new("s"),
                name: name.into(),
                description: String::new(),
                owner_user_id: Some(owner),
                user_group_id: None,
                created_at: 0,
                created_by: None,
                modified_at: 0,
                modified_by: None,
                personal_user_id: None,
            },
            created_by_name: None,
            modified_by_name: None,
            is_favorite: false,
        }
    }

    fn tree() -> Vec<FolderView> {
        vec![
            view("9", Some("s"), "Apps Archive", 1),
            view("2", Some("1"), "web", 2),
            view("1", Some("s"), "Apps", 1),
            view("s", None, "Safe", 1),
            view("3", Some("1"), "DB", 1),
        ]
    }

    fn all() -> ListFilter {
        ListFilter {
            name: None,
            path: None,
            include_subfolders: true,
            root_only: false,
            owner_id: None,
            page: Page::default(),
        }
    }

    fn paths(filter: &ListFilter) -> Vec<String> {
        select(&tree(), filter)
            .into_iter()
            .map(|f| f.folder_path)
            .collect()
    }

    #[test]
    fn tree_order_and_paths() {
        assert_eq!(
            paths(&all()),
            [
                "Safe",
                "Safe/Apps",
                "Safe/Apps/DB",
                "Safe/Apps/web",
                "Safe/Apps Archive"
            ]
        );
    }

    #[test]
    fn filters_combine() {
        let path = Some(vec!["safe".to_owned(), "apps".to_owned()]);
        assert_eq!(
            paths(&ListFilter {
                path: path.clone(),
                ..all()
            }),
            ["Safe/Apps", "Safe/Apps/DB", "Safe/Apps/web"]
        );
        assert_eq!(
            paths(&ListFilter {
                path,
                include_subfolders: false,
                ..all()
            }),
            ["Safe/Apps"]
        );
        assert_eq!(
            paths(&ListFilter {
                name: Some("app".into()),
                ..all()
            }),
            ["Safe/Apps", "Safe/Apps Archive"]
        );
        assert_eq!(
            paths(&ListFilter {
                root_only: true,
                ..all()
            }),
            ["Safe"]
        );
        assert_eq!(
            paths(&ListFilter {
                owner_id: Some(2),
                ..all()
            }),
            ["Safe/Apps/web"]
        );
        assert_eq!(
            paths(&ListFilter {
                page: Page {
                    offset: 1,
                    limit: 2
                },
                ..all()
            }),
            ["Safe/Apps", "Safe/Apps/DB"]
        );
    }
}
