//! Process-wide tables of handles. A handle is a `u64` made of a table tag
//! (so a config handle is never mistaken for a connection handle), a
//! generation and a slot index. Freeing a slot bumps its generation, so a
//! stale handle is reported as invalid and never reaches freed memory; handle
//! 0 is never issued.

use std::sync::{Arc, RwLock};

const INDEX_BITS: u32 = 32;
const GEN_BITS: u32 = 24;
const GEN_MASK: u64 = (1 << GEN_BITS) - 1;

/// A table of `Arc<T>` addressed by generation-checked handles.
pub struct Registry<T> {
    tag: u8,
    slots: RwLock<Slots<T>>,
}

struct Slots<T> {
    entries: Vec<(u32, Option<Arc<T>>)>,
    free: Vec<u32>,
}

impl<T> Registry<T> {
    /// An empty table whose handles carry `tag` (non-zero) in their top byte.
    pub const fn new(tag: u8) -> Self {
        Registry { tag, slots: RwLock::new(Slots { entries: Vec::new(), free: Vec::new() }) }
    }

    fn encode(&self, index: u32, generation: u32) -> u64 {
        (u64::from(self.tag) << (INDEX_BITS + GEN_BITS))
            | ((u64::from(generation) & GEN_MASK) << INDEX_BITS)
            | u64::from(index)
    }

    fn decode(&self, handle: u64) -> Option<(usize, u32)> {
        if (handle >> (INDEX_BITS + GEN_BITS)) as u8 != self.tag {
            return None;
        }
        Some(((handle & 0xFFFF_FFFF) as usize, ((handle >> INDEX_BITS) & GEN_MASK) as u32))
    }

    /// Store `value` and return its new handle.
    pub fn insert(&self, value: Arc<T>) -> u64 {
        let mut slots = self.slots.write().unwrap_or_else(|e| e.into_inner());
        let index = match slots.free.pop() {
            Some(i) => i,
            None => {
                slots.entries.push((1, None));
                (slots.entries.len() - 1) as u32
            }
        };
        let entry = &mut slots.entries[index as usize];
        entry.1 = Some(value);
        self.encode(index, entry.0)
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
        // Skip generation 0 when wrapping so a zeroed handle never matches.
        entry.0 = ((entry.0 + 1) & GEN_MASK as u32).max(1);
        slots.free.push(index as u32);
        value
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
    }
}
