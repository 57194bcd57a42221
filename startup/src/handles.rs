//! Metric handles looked up by a label value from a small set (route templates, gRPC method
//! names), without building a metrics key on every request: the `metrics` macros build, hash
//! and compare the whole key at each use, which costs more than the rest of a request's
//! metrics work. Handles are made on first use of a label; past `limit` labels, new ones are
//! counted under `other`, so that no client can grow the label set.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

/// The handles of each label value seen, made by `make` on first use.
pub struct ByLabel<H> {
    handles: RwLock<HashMap<Box<str>, Arc<H>>>,
    limit: usize,
}

/// The label value that stands for every value past the limit.
pub const OTHER: &str = "other";

impl<H> ByLabel<H> {
    pub fn new(limit: usize) -> Self {
        ByLabel {
            handles: RwLock::new(HashMap::new()),
            limit,
        }
    }

    /// The handles of `label` (or of [`OTHER`], past the limit).
    pub fn get(&self, label: &str, make: impl FnOnce(&str) -> H) -> Arc<H> {
        if let Some(handles) = self
            .handles
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(label)
        {
            return Arc::clone(handles);
        }
        let mut all = self.handles.write().unwrap_or_else(PoisonError::into_inner);
        let label = if all.len() >= self.limit && !all.contains_key(label) {
            OTHER
        } else {
            label
        };
        Arc::clone(
            all.entry(label.into())
                .or_insert_with(|| Arc::new(make(label))),
        )
    }
}

/// `N` handles made on first use, by index (a status or a code from a fixed table).
pub struct Lazy<T, const N: usize>([OnceLock<T>; N]);

impl<T, const N: usize> Default for Lazy<T, N> {
    fn default() -> Self {
        Lazy(std::array::from_fn(|_| OnceLock::new()))
    }
}

impl<T, const N: usize> Lazy<T, N> {
    /// The handle at `index` (the last one for an index out of range).
    pub fn get(&self, index: usize, make: impl FnOnce() -> T) -> &T {
        self.0[index.min(N - 1)].get_or_init(make)
    }
}
