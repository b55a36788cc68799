//! Process-wide tables of handles.
//!
//! A handle is a `u64`: a table tag in the top 8 bits (so a config handle is
//! never mistaken for a connection handle), a 32-bit generation in the next
//! 32 bits and a 24-bit slot index in the low bits:
//!
//! ```text
//!  63      56 55                          24 23              0
//! +----------+------------------------------+-----------------+
//! |   tag    |          generation          |   slot index    |
//! +----------+------------------------------+-----------------+
//! ```
//!
//! Freeing a handle bumps its slot's generation, so a stale handle is
//! reported as invalid and never reaches freed memory. Free slots are reused
//! oldest-first, and a slot whose generation would wrap is retired, never
//! reused: no handle value is ever issued twice in a process, so a stale
//! handle can never equal a live one. Generation 0 is never issued, and the
//! tag is never 0, so handle 0 is never valid.
//!
//! Nothing outside this module may depend on the layout: the C API documents
//! handles as opaque numbers. [`slot`] gives the index for thread names.

use std::{
    collections::VecDeque,
    sync::{Arc, RwLock},
};

const INDEX_BITS: u32 = 24;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
const GEN_BITS: u32 = 32;
const GEN_MASK: u64 = (1 << GEN_BITS) - 1;
/// The largest number of slots a table has (live, free or retired).
pub(crate) const MAX_SLOTS: usize = 1 << INDEX_BITS;

/// The slot index of a handle (for thread names and messages; not a key).
pub fn slot(handle: u64) -> u32 {
    (handle & INDEX_MASK) as u32
}

/// A table of `Arc<T>` addressed by generation-checked handles.
pub struct Registry<T> {
    tag: u8,
    max_slots: usize,
    slots: RwLock<Slots<T>>,
}

struct Slots<T> {
    /// Per slot: the generation of its current (or next) handle, and the
    /// value while the handle is live.
    entries: Vec<(u32, Option<Arc<T>>)>,
    /// Free slots, oldest-freed first. Retired slots are never in it.
    free: VecDeque<u32>,
}

impl<T> Registry<T> {
    /// An empty table whose handles carry `tag` (non-zero) in their top byte.
    pub const fn new(tag: u8) -> Self {
        Self::with_max_slots(tag, MAX_SLOTS)
    }

    const fn with_max_slots(tag: u8, max_slots: usize) -> Self {
        assert!(tag != 0, "tag 0 would allow handle 0");
        Registry {
            tag,
            max_slots,
            slots: RwLock::new(Slots { entries: Vec::new(), free: VecDeque::new() }),
        }
    }

    fn encode(&self, index: u32, generation: u32) -> u64 {
        (u64::from(self.tag) << (INDEX_BITS + GEN_BITS))
            | (u64::from(generation) << INDEX_BITS)
            | u64::from(index)
    }

    fn decode(&self, handle: u64) -> Option<(usize, u32)> {
        if (handle >> (INDEX_BITS + GEN_BITS)) as u8 != self.tag {
            return None;
        }
        let generation = ((handle >> INDEX_BITS) & GEN_MASK) as u32;
        (generation != 0).then_some((slot(handle) as usize, generation))
    }

    /// Store `value` and return its new handle, or `None` when every slot is
    /// live or retired (`MAX_SLOTS`).
    pub fn try_insert(&self, value: Arc<T>) -> Option<u64> {
        let mut slots = self.slots.write().unwrap_or_else(|e| e.into_inner());
        let index = match slots.free.pop_front() {
            Some(i) => i,
            None if slots.entries.len() < self.max_slots => {
                slots.entries.push((1, None));
                (slots.entries.len() - 1) as u32
            }
            None => return None,
        };
        let entry = &mut slots.entries[index as usize];
        entry.1 = Some(value);
        Some(self.encode(index, entry.0))
    }

    /// Store `value` and return its new handle. Panics (which the API
    /// boundary reports as `WS_ERR_INTERNAL`) when the table is full: that
    /// takes 16,777,216 live handles of one kind.
    pub fn insert(&self, value: Arc<T>) -> u64 {
        self.try_insert(value)
            .unwrap_or_else(|| panic!("the handle table is full ({} handles)", self.max_slots))
    }

    /// The value behind a live handle. The table lock is held only for the
    /// lookup.
    pub fn get(&self, handle: u64) -> Option<Arc<T>> {
        let (index, generation) = self.decode(handle)?;
        let slots = self.slots.read().unwrap_or_else(|e| e.into_inner());
        match slots.entries.get(index) {
            Some((g, Some(v))) if *g == generation => Some(Arc::clone(v)),
            _ => None,
        }
    }

    /// Remove a live handle and return its value; `None` if the handle is
    /// stale or was never issued.
    pub fn remove(&self, handle: u64) -> Option<Arc<T>> {
        let (index, generation) = self.decode(handle)?;
        let mut slots = self.slots.write().unwrap_or_else(|e| e.into_inner());
        let entry = slots.entries.get_mut(index)?;
        if entry.0 != generation || entry.1.is_none() {
            return None;
        }
        let value = entry.1.take();
        // The last generation retires the slot: it keeps that generation and
        // no value, and is never handed out again.
        if let Some(next) = entry.0.checked_add(1) {
            entry.0 = next;
            slots.free.push_back(index as u32);
        }
        value
    }

    /// Test hook: give free slot `index` the generation `generation` for its
    /// next handle (to reach the wrap without 4 billion cycles).
    #[cfg(test)]
    fn set_generation(&self, index: u32, generation: u32) {
        let mut slots = self.slots.write().unwrap();
        let entry = &mut slots.entries[index as usize];
        assert!(entry.1.is_none() && generation != 0, "only a free slot, never generation 0");
        entry.0 = generation;
    }

    #[cfg(test)]
    fn is_free(&self, index: u32) -> bool {
        self.slots.read().unwrap().free.contains(&index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_and_foreign_handles_are_rejected() {
        let a: Registry<i32> = Registry::new(1);
        let b: Registry<i32> = Registry::new(2);
        let h = a.insert(Arc::new(7));
        assert_ne!(h, 0);
        assert_eq!(*a.get(h).unwrap(), 7);
        assert!(b.get(h).is_none(), "a handle of another table is not valid here");
        assert!(a.get(0).is_none());
        assert_eq!(*a.remove(h).unwrap(), 7);
        assert!(a.get(h).is_none(), "freed handle is stale");
        assert!(a.remove(h).is_none(), "double free is refused");
        let h2 = a.insert(Arc::new(8));
        assert_ne!(h, h2, "a reused slot gets a new generation");
        assert!(a.get(h).is_none());
        assert_eq!(*a.get(h2).unwrap(), 8);
        // Generation 0 is never issued: a handle carrying it is refused.
        assert!(a.get(h2 & !(GEN_MASK << INDEX_BITS)).is_none());
    }

    #[test]
    fn the_layout_is_tag_generation_index() {
        let a: Registry<i32> = Registry::new(0x57);
        let h = a.insert(Arc::new(1));
        assert_eq!(h, 0x5700_0000_0100_0000, "tag 0x57, generation 1, slot 0");
        let h2 = a.insert(Arc::new(2));
        assert_eq!(slot(h2), 1);
        a.remove(h);
        assert_eq!(a.insert(Arc::new(3)), 0x5700_0000_0200_0000, "slot 0, generation 2");
    }

    #[test]
    fn free_slots_are_reused_oldest_first() {
        let a: Registry<i32> = Registry::new(1);
        let h: Vec<u64> = (0..3).map(|i| a.insert(Arc::new(i))).collect();
        for i in [1, 2, 0] {
            a.remove(h[i]);
        }
        let again: Vec<u32> = (0..3).map(|i| slot(a.insert(Arc::new(i)))).collect();
        assert_eq!(again, [1, 2, 0]);
        assert_eq!(slot(a.insert(Arc::new(9))), 3, "then a new slot");
    }

    #[test]
    fn a_slot_whose_generation_would_wrap_is_retired() {
        let a: Registry<i32> = Registry::new(1);
        let first = a.insert(Arc::new(0));
        a.remove(first);
        // Fast-forward slot 0 to its next-to-last generation.
        a.set_generation(0, u32::MAX - 1);
        let before_last = a.insert(Arc::new(1));
        assert_eq!(slot(before_last), 0);
        a.remove(before_last);
        let last = a.insert(Arc::new(2));
        assert_eq!((slot(last), (last >> INDEX_BITS) & GEN_MASK), (0, u64::from(u32::MAX)));
        assert!(a.get(before_last).is_none() && a.get(first).is_none());
        assert_eq!(*a.remove(last).unwrap(), 2);
        // The generation would wrap to 1 and reissue `first`: the slot is
        // retired instead.
        assert!(!a.is_free(0), "a retired slot is never free again");
        let next = a.insert(Arc::new(3));
        assert_eq!(slot(next), 1, "a fresh slot is used");
        for _ in 0..10 {
            let h = a.insert(Arc::new(4));
            assert_ne!(slot(h), 0);
            assert!(a.remove(h).is_some());
        }
        for stale in [first, before_last, last] {
            assert!(a.get(stale).is_none(), "{stale:#x} is stale");
            assert!(a.remove(stale).is_none(), "{stale:#x} cannot be freed again");
        }
        assert_eq!(*a.get(next).unwrap(), 3);
    }

    #[test]
    fn a_full_table_refuses_more() {
        let a: Registry<i32> = Registry::with_max_slots(1, 2);
        let h1 = a.try_insert(Arc::new(1)).unwrap();
        let _h2 = a.try_insert(Arc::new(2)).unwrap();
        assert!(a.try_insert(Arc::new(3)).is_none());
        a.remove(h1);
        assert!(a.try_insert(Arc::new(3)).is_some(), "a freed slot is available again");
        let r = std::panic::catch_unwind(|| a.insert(Arc::new(4)));
        assert!(r.is_err(), "insert panics when full");
        // The lock is not held across the panic.
        assert_eq!(*a.get(h1 + (1 << INDEX_BITS)).unwrap(), 3);
    }
}
