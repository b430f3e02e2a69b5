//! Filter designs shared by the whole process.
//!
//! A design is a pure function of its parameters, so once made it serves every instance,
//! activation and chain that asks for the same key: [`DesignCache::get`] designs a key
//! exactly once (a second thread asking for it meanwhile waits for that one design, other
//! keys are not held up) and hands out `Arc`s of the result. Entries are kept for the
//! process's lifetime: the keys a session meets (rates × voicings) are few.
//!
//! Designing allocates and takes milliseconds: never from the audio thread.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// One key's slot: filled once, by the first thread that asks.
type Slot<V> = Arc<OnceLock<Arc<V>>>;

/// Designs of one kind, by key (see the module docs).
pub struct DesignCache<K, V> {
    entries: OnceLock<Mutex<HashMap<K, Slot<V>>>>,
}

impl<K: Eq + Hash, V> DesignCache<K, V> {
    /// An empty cache (usable in a `static`).
    pub const fn new() -> Self {
        Self {
            entries: OnceLock::new(),
        }
    }

    /// The design of `key`, made by `design` if no thread has made it yet.
    pub fn get(&self, key: K, design: impl FnOnce() -> V) -> Arc<V> {
        let slot = {
            let mut entries = self
                .entries
                .get_or_init(Default::default)
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            entries.entry(key).or_default().clone()
        };
        slot.get_or_init(|| Arc::new(design())).clone()
    }

    /// How many keys have been designed (or are being designed).
    pub fn len(&self) -> usize {
        self.entries.get().map_or(0, |e| {
            e.lock().unwrap_or_else(PoisonError::into_inner).len()
        })
    }

    /// Whether nothing has been designed yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Eq + Hash, V> Default for DesignCache<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Eight threads asking for the same key get one design, shared.
    #[test]
    fn each_key_is_designed_once() {
        static CACHE: DesignCache<u32, Vec<f64>> = DesignCache::new();
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        let results: Vec<Arc<Vec<f64>>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        CACHE.get(7, || {
                            CALLS.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(20));
                            vec![1.0, 2.0]
                        })
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(CALLS.load(Ordering::SeqCst), 1);
        assert!(results.iter().all(|r| Arc::ptr_eq(r, &results[0])));
        let other = CACHE.get(8, || vec![3.0]);
        assert_eq!(*other, vec![3.0]);
        assert_eq!(CACHE.len(), 2);
    }
}
