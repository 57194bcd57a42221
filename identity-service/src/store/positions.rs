//! Where offset pages start, and how many rows a list has, remembered by each replica: SCIM
//! pages by position (`startIndex`), and Okta imports a team by walking every page in order, so
//! without this each page would count the whole list again and make the database step over
//! every row before it (page 10,000 of a million users steps over 999,900).
//!
//! No user or group is kept here, only a sort key at a position and a count. Each is stamped with
//! the tenant's change-log position (the last sequence of its events), read in the same
//! transaction as the page, and used only while that has not moved: a read after any committed
//! write of the tenant counts and skips afresh, on this replica and on every other.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::prelude::*;

use super::StoreResult;
use super::connection::AnyConnection;
use super::schema::events;
use crate::model::{Micros, PageStart};

/// Lists remembered at once; past it the least recently used is forgotten.
const MAX_LISTS: usize = 1024;
/// Page starts remembered per list: a walk needs the last; a few walks may interleave.
const STARTS_PER_LIST: usize = 4;
/// A list untouched this long is forgotten (and the change log's pruning never reaches back
/// this far, so a stamp cannot outlive the events that would contradict it).
const LIFETIME: Duration = Duration::from_secs(600);

/// One tenant's list (`users`, `groups`) under one filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ListKey {
    tenant_id: String,
    list: &'static str,
    filter: String,
}

impl ListKey {
    pub fn new(tenant_id: &str, list: &'static str, filter: &impl std::fmt::Debug) -> Self {
        ListKey {
            tenant_id: tenant_id.to_owned(),
            list,
            filter: format!("{filter:?}"),
        }
    }
}

/// The sort key of the row before a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SortKey {
    pub created_at: Micros,
    pub id: String,
}

#[derive(Debug)]
struct Remembered {
    version: i64,
    total: Option<i64>,
    /// (offset, sort key of the row before it), newest last.
    starts: VecDeque<(i64, SortKey)>,
    used: Instant,
}

impl Remembered {
    fn new(version: i64) -> Self {
        Remembered {
            version,
            total: None,
            starts: VecDeque::new(),
            used: Instant::now(),
        }
    }
}

/// What a replica remembers of the lists it paged lately.
#[derive(Debug, Default)]
pub(crate) struct Positions {
    lists: Mutex<HashMap<ListKey, Remembered>>,
}

impl Positions {
    /// The count of `list`, and where its page at `start` begins, as far as known at `version`.
    pub fn recall(
        &self,
        list: &ListKey,
        version: i64,
        start: &PageStart,
    ) -> (Option<i64>, Option<PageStart>) {
        let mut lists = self.lists.lock().unwrap_or_else(|p| p.into_inner());
        let Some(remembered) = lists.get_mut(list) else {
            return (None, None);
        };
        if remembered.version != version || remembered.used.elapsed() > LIFETIME {
            lists.remove(list);
            return (None, None);
        }
        remembered.used = Instant::now();
        let after = match start {
            PageStart::Offset(offset) if *offset > 0 => remembered
                .starts
                .iter()
                .find(|(at, _)| at == offset)
                .map(|(_, key)| PageStart::After {
                    created_at: key.created_at,
                    id: key.id.clone(),
                }),
            _ => None,
        };
        (remembered.total, after)
    }

    /// Records `list`'s count and where its page at `next_offset` begins, as read at `version`.
    pub fn remember(
        &self,
        list: ListKey,
        version: i64,
        total: Option<i64>,
        next: Option<(i64, SortKey)>,
    ) {
        let mut lists = self.lists.lock().unwrap_or_else(|p| p.into_inner());
        if !lists.contains_key(&list) && lists.len() >= MAX_LISTS {
            let oldest = lists
                .iter()
                .min_by_key(|(_, remembered)| remembered.used)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                lists.remove(&oldest);
            }
        }
        let remembered = lists
            .entry(list)
            .or_insert_with(|| Remembered::new(version));
        if remembered.version != version {
            *remembered = Remembered::new(version);
        }
        remembered.used = Instant::now();
        if total.is_some() {
            remembered.total = total;
        }
        if let Some((offset, key)) = next
            && !remembered.starts.iter().any(|(at, _)| *at == offset)
        {
            if remembered.starts.len() == STARTS_PER_LIST {
                remembered.starts.pop_front();
            }
            remembered.starts.push_back((offset, key));
        }
    }
}

/// The tenant's change-log position: the sequence of its last event (0 before any). Every write
/// of a tenant's users, groups or memberships records an event in its transaction, and
/// sequences are handed out in commit order, so this moves with every committed write.
pub(crate) fn tenant_version(conn: &mut AnyConnection, tenant_id: &str) -> StoreResult<i64> {
    let last: Option<i64> = events::table
        .filter(events::tenant_id.eq(tenant_id))
        .select(diesel::dsl::max(events::sequence))
        .first(conn)?;
    Ok(last.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> SortKey {
        SortKey {
            created_at: 1,
            id: id.to_owned(),
        }
    }

    #[test]
    fn positions_hold_only_while_the_version_holds() {
        let positions = Positions::default();
        let list = ListKey::new("t", "users", &None::<()>);
        positions.remember(list.clone(), 7, Some(1000), Some((100, key("a"))));
        let (total, start) = positions.recall(&list, 7, &PageStart::Offset(100));
        assert_eq!(total, Some(1000));
        assert_eq!(
            start,
            Some(PageStart::After {
                created_at: 1,
                id: "a".into()
            })
        );
        assert_eq!(
            positions.recall(&list, 7, &PageStart::Offset(200)),
            (Some(1000), None)
        );
        assert_eq!(
            positions.recall(&list, 8, &PageStart::Offset(100)),
            (None, None),
            "a newer change forgets the list"
        );
        assert_eq!(
            positions.recall(&list, 7, &PageStart::Offset(100)),
            (None, None)
        );
        let other = ListKey::new("t", "users", &Some("filter"));
        positions.remember(other.clone(), 7, None, None);
        assert_eq!(
            positions.recall(&other, 7, &PageStart::Offset(0)),
            (None, None)
        );
    }

    #[test]
    fn a_few_starts_per_list_and_a_bounded_number_of_lists() {
        let positions = Positions::default();
        let list = ListKey::new("t", "users", &None::<()>);
        for page in 1..=10 {
            positions.remember(list.clone(), 1, None, Some((page * 100, key("x"))));
        }
        assert!(
            positions
                .recall(&list, 1, &PageStart::Offset(1000))
                .1
                .is_some()
        );
        assert!(
            positions
                .recall(&list, 1, &PageStart::Offset(100))
                .1
                .is_none()
        );
        for tenant in 0..(MAX_LISTS + 10) {
            positions.remember(
                ListKey::new(&tenant.to_string(), "users", &()),
                1,
                Some(1),
                None,
            );
        }
        let lists = positions.lists.lock().map(|lists| lists.len());
        assert_eq!(lists.ok(), Some(MAX_LISTS));
    }
}
