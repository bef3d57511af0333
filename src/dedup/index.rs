//! The band index: which recent stories carry a given fingerprint band key, in memory.
//!
//! A near-duplicate lookup asks, for each of a new text's ~40 band keys, which stories share it.
//! Kept as a table in SQLite, that was one B-tree seek per key, and at a million stories the
//! random inserts into a table far larger than the page cache dominated the ingest. Only the
//! stories inside the near-duplicate window can ever be joined, so the store keeps their keys
//! here (a few hundred bytes a story) and reloads them from the stories' rows at start.

/// Stories kept per band key, the newest: a key shared by a template or a stock phrase is
/// carried by ever more stories, and a real copy shares many keys, not one.
pub const KEY_FANOUT: usize = 64;

/// An open-addressed multimap from band key to story id.
///
/// Each slot packs the high 32 bits of a key beside the low 32 bits of a story id; the slot's
/// position comes from the key's low bits. A stranger becomes a candidate only when it sits
/// in the probe run of the key and agrees on the other 32 bits, about one lookup in a billion,
/// and every candidate's text is checked anyway. Story ids past 2^32 would only lose joins.
#[derive(Debug, Clone)]
pub struct BandIndex {
    /// The slots; 0 is empty. A power of two long, so the position is a mask.
    slots: Vec<u64>,
    /// Filled slots, so the caller knows when to rebuild the index larger.
    used: usize,
}

impl BandIndex {
    /// An index with room for `entries` keys before it needs rebuilding.
    pub fn with_room_for(entries: usize) -> BandIndex {
        // Linear probing stays short up to 3/4 full.
        let len = (entries.saturating_mul(4) / 3 + 1)
            .next_power_of_two()
            .max(1024);
        BandIndex {
            slots: vec![0; len],
            used: 0,
        }
    }

    /// Whether `more` keys fit without the table passing 3/4 full.
    pub fn has_room_for(&self, more: usize) -> bool {
        (self.used + more) * 4 <= self.slots.len() * 3
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.used
    }

    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// Memory held by the table, for benchmarks and `stories` statistics.
    pub fn bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<u64>()
    }

    fn split(key: i64) -> (usize, u64) {
        let k = key as u64;
        (k as usize, k & 0xFFFF_FFFF_0000_0000)
    }

    /// Records that `story` carries `key`. When the key already has [`KEY_FANOUT`] stories, the
    /// oldest (lowest id) gives its place up. The caller checks [`Self::has_room_for`] first.
    pub fn insert(&mut self, key: i64, story: i64) {
        let (pos, high) = Self::split(key);
        let entry = high | (story as u64 & 0xFFFF_FFFF);
        if entry == 0 {
            return;
        }
        let mask = self.slots.len() - 1;
        let (mut i, mut same_key, mut oldest) = (pos & mask, 0usize, None::<(usize, u64)>);
        loop {
            let s = self.slots[i];
            if s == 0 {
                break;
            }
            if s == entry {
                return;
            }
            if s & 0xFFFF_FFFF_0000_0000 == high {
                same_key += 1;
                let id = s & 0xFFFF_FFFF;
                if oldest.is_none_or(|(_, o)| id < o) {
                    oldest = Some((i, id));
                }
            }
            i = (i + 1) & mask;
        }
        match oldest {
            Some((at, id)) if same_key >= KEY_FANOUT && id < (story as u64 & 0xFFFF_FFFF) => {
                self.slots[at] = entry;
            }
            _ if same_key >= KEY_FANOUT => {}
            _ => {
                self.slots[i] = entry;
                self.used += 1;
            }
        }
    }

    /// Calls `f` with each story recorded under `key`.
    pub fn stories_with(&self, key: i64, mut f: impl FnMut(i64)) {
        let (pos, high) = Self::split(key);
        let mask = self.slots.len() - 1;
        let mut i = pos & mask;
        loop {
            let s = self.slots[i];
            if s == 0 {
                return;
            }
            if s & 0xFFFF_FFFF_0000_0000 == high {
                f((s & 0xFFFF_FFFF) as i64);
            }
            i = (i + 1) & mask;
        }
    }
}

/// A fingerprint's band keys as stored in a story's row: 8 bytes each, little-endian.
pub fn encode_bands(bands: &[i64]) -> Vec<u8> {
    bands.iter().flat_map(|k| k.to_le_bytes()).collect()
}

/// The band keys of a stored row; a truncated tail (never written) is ignored.
pub fn decode_bands(blob: &[u8]) -> impl Iterator<Item = i64> + '_ {
    blob.chunks_exact(8).map(|c| {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        i64::from_le_bytes(b)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stories(index: &BandIndex, key: i64) -> Vec<i64> {
        let mut out = Vec::new();
        index.stories_with(key, |id| out.push(id));
        out.sort_unstable();
        out
    }

    #[test]
    fn a_key_finds_every_story_that_carries_it_and_no_other() {
        // Band keys are hashes: both halves differ between keys.
        let (a, b, c) = (42 | (1 << 40), 43 | (2 << 40), 44 | (3 << 40));
        let mut index = BandIndex::with_room_for(100);
        index.insert(a, 1);
        index.insert(a, 7);
        index.insert(b, 2);
        assert_eq!(stories(&index, a), vec![1, 7]);
        assert_eq!(stories(&index, b), vec![2]);
        assert!(stories(&index, c).is_empty());
    }

    #[test]
    fn keys_differing_only_in_their_high_half_are_kept_apart() {
        let mut index = BandIndex::with_room_for(100);
        let a = 5i64;
        let b = 5i64 | (1 << 40);
        index.insert(a, 1);
        index.insert(b, 2);
        assert_eq!(stories(&index, a), vec![1]);
        assert_eq!(stories(&index, b), vec![2]);
    }

    #[test]
    fn the_same_story_and_key_twice_is_held_once() {
        let mut index = BandIndex::with_room_for(100);
        index.insert(9, 3);
        index.insert(9, 3);
        assert_eq!(index.len(), 1);
        assert_eq!(stories(&index, 9), vec![3]);
    }

    #[test]
    fn a_crowded_key_keeps_its_newest_stories() {
        let mut index = BandIndex::with_room_for(1000);
        for id in 1..=(KEY_FANOUT as i64 + 10) {
            index.insert(77, id);
        }
        let held = stories(&index, 77);
        assert_eq!(held.len(), KEY_FANOUT);
        assert_eq!(held[0], 11);
        assert_eq!(*held.last().unwrap(), KEY_FANOUT as i64 + 10);
    }

    #[test]
    fn room_runs_out_at_three_quarters_full() {
        let mut index = BandIndex::with_room_for(10);
        let slots = index.bytes() / 8;
        for k in 0..(slots * 3 / 4) as i64 {
            assert!(index.has_room_for(1));
            index.insert(k * 0x1_0000_0001, 1);
        }
        assert!(!index.has_room_for(1));
    }

    #[test]
    fn bands_survive_their_stored_form() {
        let bands = vec![-1i64, 0, i64::MAX, 12345];
        assert_eq!(
            decode_bands(&encode_bands(&bands)).collect::<Vec<_>>(),
            bands
        );
    }
}
