//! Paging of the Secrets Safe lists (`GET secrets`, `GET folders`), one rule for both:
//! `Limit` from 1 to 1000, 1000 when left out (the reference's default, which the
//! clients also send), `Offset` from 0; anything else is a 400 naming the parameter.
//! The reference gives no upper bound; 1000 keeps one answer (which may carry a value
//! per secret, each read audited) bounded, as the audit lists are.

use edgesafe_api_common::request::Query;
use edgesafe_api_common::Result;

pub const LIMIT_DEFAULT: usize = 1000;
pub const LIMIT_MAX: usize = 1000;
/// Offsets beyond any list edgesafe holds.
const OFFSET_MAX: i64 = i32::MAX as i64;

/// Which part of a list to answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub limit: usize,
    pub offset: usize,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            limit: LIMIT_DEFAULT,
            offset: 0,
        }
    }
}

impl Page {
    /// `Limit` and `Offset`, named in any case.
    pub fn from_query(query: &Query) -> Result<Page> {
        let limit = query.int("Limit", 1, LIMIT_MAX as i64)?;
        let offset = query.int("Offset", 0, OFFSET_MAX)?;
        Ok(Page {
            limit: limit.map_or(LIMIT_DEFAULT, |n| n as usize),
            offset: offset.map_or(0, |n| n as usize),
        })
    }

    /// The page of `items`.
    pub fn of<T>(self, items: impl IntoIterator<Item = T>) -> impl Iterator<Item = T> {
        items.into_iter().skip(self.offset).take(self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(query: &str) -> Result<Page> {
        Page::from_query(&Query::parse(query.as_bytes()))
    }

    #[test]
    fn limit_runs_from_1_to_1000_and_defaults_to_1000() {
        assert_eq!(page("").ok(), Some(Page::default()));
        assert_eq!(
            page("limit=1000&OFFSET=3").ok(),
            Some(Page {
                limit: 1000,
                offset: 3
            })
        );
        assert_eq!(page("Limit=1").ok().map(|p| p.limit), Some(1));
        for bad in [
            "limit=0",
            "limit=1001",
            "limit=-1",
            "limit=ten",
            "offset=-1",
        ] {
            assert_eq!(
                page(bad).err().map(|e| e.status().as_u16()),
                Some(400),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_page_skips_then_takes() {
        let page = Page {
            limit: 2,
            offset: 1,
        };
        assert_eq!(page.of([1, 2, 3, 4]).collect::<Vec<_>>(), [2, 3]);
    }
}
