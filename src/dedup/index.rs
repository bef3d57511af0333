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

/// Low bits of a key that choose its shard.
const SHARD_BITS: u32 = 8;

/// Shards of the index: each grows on its own, so growing never holds two copies of the whole
/// table (only of one shard, 1/256 of it).
const SHARDS: usize = 1 << SHARD_BITS;

/// Slots a shard has at least.
const MIN_SHARD_SLOTS: usize = 16;

/// Slots in one chunk of a shard's table (a power of two: 8 KiB of slots).
///
/// A shard past this size is held in chunks of this size (and one shorter rest), not in one
/// block.
/// Grown as one block, a shard frees blocks of ever new sizes (at 100,000 feeds each shard is
/// some 600 KB): the allocator cannot reuse them for the larger ones that follow, nor give them
/// back, and the process held about 100 MB more than the index itself (glibc's mmap threshold
/// had slid up past them). Chunks of one size freed by one shard's growth are taken again by
/// the next one's.
const CHUNK_SLOTS: usize = 1 << 10;

/// An open-addressed multimap from band key to story id, in [`SHARDS`] shards.
///
/// Each slot packs the high 32 bits of a key beside the low 32 bits of a story id. The key's
/// low [`SHARD_BITS`] bits choose its shard, and its high 32 bits (kept in the slot) its place
/// in the shard, so a shard grows by moving its slots, without the keys it was built from. A
/// stranger becomes a candidate only when it agrees with a key on those 40 bits: with 10
/// million keys held, about one key looked up in 100,000, and every candidate's text is checked
/// anyway. Story ids past 2^32 would only lose joins.
#[derive(Debug, Clone)]
pub struct BandIndex {
    /// The shards, [`SHARDS`] of them.
    shards: Vec<Shard>,
}

/// One shard: linear probing in a table of any length, at most 3/4 full.
#[derive(Debug, Clone)]
struct Shard {
    /// The slots (0 is empty), slot `i` at `chunks[i / CHUNK_SLOTS][i % CHUNK_SLOTS]`: whole
    /// chunks of [`CHUNK_SLOTS`], and the rest (under one chunk) in a last one.
    chunks: Vec<Box<[u64]>>,
    /// Slots in the table, to scale a key's home to it.
    len: usize,
    /// Filled slots, to grow the shard before it passes 3/4 full.
    used: usize,
}

impl Shard {
    fn with_slots(len: usize) -> Shard {
        let len = len.max(MIN_SHARD_SLOTS);
        let chunks = (0..len.div_ceil(CHUNK_SLOTS))
            .map(|c| vec![0; CHUNK_SLOTS.min(len - c * CHUNK_SLOTS)].into_boxed_slice())
            .collect();
        Shard {
            chunks,
            len,
            used: 0,
        }
    }

    fn get(&self, i: usize) -> u64 {
        self.chunks[i / CHUNK_SLOTS][i % CHUNK_SLOTS]
    }

    fn set(&mut self, i: usize, slot: u64) {
        self.chunks[i / CHUNK_SLOTS][i % CHUNK_SLOTS] = slot;
    }

    /// Where the probe run of a key with these high bits starts: the high bits scaled to the
    /// length (they are a hash's, spread evenly).
    fn home(&self, high: u64) -> usize {
        (((high >> 32) * self.len as u64) >> 32) as usize
    }

    fn next(&self, i: usize) -> usize {
        if i + 1 == self.len { 0 } else { i + 1 }
    }

    /// Grown by half again when one more slot would pass 3/4 full: the old slots are moved
    /// into a new table, their places worked out from the key bits they keep, and each old
    /// chunk is freed once emptied.
    fn make_room(&mut self) {
        if (self.used + 1) * 4 <= self.len * 3 {
            return;
        }
        let old = std::mem::replace(self, Shard::with_slots(self.len + self.len / 2));
        self.used = old.used;
        for chunk in old.chunks {
            for s in chunk.iter().copied().filter(|&s| s != 0) {
                let mut i = self.home(s & 0xFFFF_FFFF_0000_0000);
                while self.get(i) != 0 {
                    i = self.next(i);
                }
                self.set(i, s);
            }
        }
    }
}

impl Default for BandIndex {
    fn default() -> BandIndex {
        BandIndex::new()
    }
}

impl BandIndex {
    /// An empty index, its shards at their smallest: it grows as keys arrive.
    pub fn new() -> BandIndex {
        BandIndex {
            shards: (0..SHARDS)
                .map(|_| Shard::with_slots(MIN_SHARD_SLOTS))
                .collect(),
        }
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.used).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Memory held by the table, for benchmarks and `stories` statistics.
    pub fn bytes(&self) -> usize {
        self.shards.len() * std::mem::size_of::<Shard>()
            + self
                .shards
                .iter()
                .map(|s| {
                    s.len * std::mem::size_of::<u64>()
                        + s.chunks.len() * std::mem::size_of::<Box<[u64]>>()
                })
                .sum::<usize>()
    }

    /// The shard of a key, and the key's high bits as a slot holds them.
    fn split(key: i64) -> (usize, u64) {
        let k = key as u64;
        ((k as usize) & (SHARDS - 1), k & 0xFFFF_FFFF_0000_0000)
    }

    /// Records that `story` carries `key`. When the key already has [`KEY_FANOUT`] stories, the
    /// oldest (lowest id) gives its place up. The key's shard grows when it is 3/4 full.
    pub fn insert(&mut self, key: i64, story: i64) {
        let (shard, high) = Self::split(key);
        let entry = high | (story as u64 & 0xFFFF_FFFF);
        if entry == 0 {
            return;
        }
        let shard = &mut self.shards[shard];
        shard.make_room();
        let (mut i, mut same_key, mut oldest) = (shard.home(high), 0usize, None::<(usize, u64)>);
        loop {
            let s = shard.get(i);
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
            i = shard.next(i);
        }
        match oldest {
            Some((at, id)) if same_key >= KEY_FANOUT && id < (story as u64 & 0xFFFF_FFFF) => {
                shard.set(at, entry);
            }
            _ if same_key >= KEY_FANOUT => {}
            _ => {
                shard.set(i, entry);
                shard.used += 1;
            }
        }
    }

    /// Records that `story` carries each of `keys` (a new story's band keys), their slots read
    /// ahead first as [`BandIndex::warm`] does: a story is filed after its whole batch was
    /// looked up, so its keys' cache lines are cold again by then.
    pub fn insert_story(&mut self, keys: &[i64], story: i64) {
        std::hint::black_box(self.warm(keys));
        for &key in keys {
            self.insert(key, story);
        }
    }

    /// Reads the first slot of each key's probe run, all before any run is walked: the reads
    /// do not wait on each other, so the processor fetches their cache lines side by side
    /// (each key is in a random place of a table far larger than the cache), and the walks
    /// that follow find them there.
    pub fn warm(&self, keys: &[i64]) -> u64 {
        keys.iter().fold(0, |acc, &key| {
            let (shard, high) = Self::split(key);
            let shard = &self.shards[shard];
            acc ^ shard.get(shard.home(high))
        })
    }

    /// Calls `f` with each story recorded under `key`.
    pub fn stories_with(&self, key: i64, mut f: impl FnMut(i64)) {
        let (shard, high) = Self::split(key);
        let shard = &self.shards[shard];
        let mut i = shard.home(high);
        loop {
            let s = shard.get(i);
            if s == 0 {
                return;
            }
            if s & 0xFFFF_FFFF_0000_0000 == high {
                f((s & 0xFFFF_FFFF) as i64);
            }
            i = shard.next(i);
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
        let mut index = BandIndex::new();
        index.insert(a, 1);
        index.insert(a, 7);
        index.insert(b, 2);
        assert_eq!(stories(&index, a), vec![1, 7]);
        assert_eq!(stories(&index, b), vec![2]);
        assert!(stories(&index, c).is_empty());
    }

    #[test]
    fn a_story_filed_with_its_keys_is_found_under_each_of_them() {
        let keys: Vec<i64> = (1..=40i64)
            .map(|k| k.wrapping_mul(0x9E37_79B9_7F4A_7C15u64 as i64))
            .collect();
        let mut index = BandIndex::new();
        index.insert_story(&keys, 9);
        index.insert_story(&keys[..20], 11);
        assert_eq!(index.len(), 60);
        for (n, &k) in keys.iter().enumerate() {
            let expected = if n < 20 { vec![9, 11] } else { vec![9] };
            assert_eq!(stories(&index, k), expected, "key {n}");
        }
    }

    #[test]
    fn keys_differing_only_in_their_high_half_are_kept_apart() {
        let mut index = BandIndex::new();
        let a = 5i64;
        let b = 5i64 | (1 << 40);
        index.insert(a, 1);
        index.insert(b, 2);
        assert_eq!(stories(&index, a), vec![1]);
        assert_eq!(stories(&index, b), vec![2]);
    }

    #[test]
    fn the_same_story_and_key_twice_is_held_once() {
        let mut index = BandIndex::new();
        index.insert(9, 3);
        index.insert(9, 3);
        assert_eq!(index.len(), 1);
        assert_eq!(stories(&index, 9), vec![3]);
    }

    #[test]
    fn a_crowded_key_keeps_its_newest_stories() {
        let mut index = BandIndex::new();
        for id in 1..=(KEY_FANOUT as i64 + 10) {
            index.insert(77, id);
        }
        let held = stories(&index, 77);
        assert_eq!(held.len(), KEY_FANOUT);
        assert_eq!(held[0], 11);
        assert_eq!(*held.last().unwrap(), KEY_FANOUT as i64 + 10);
    }

    /// Keys spread as band keys are (hashes): both halves vary.
    fn key(n: u64) -> i64 {
        n.wrapping_mul(0x9E37_79B9_7F4A_7C15) as i64
    }

    #[test]
    fn an_index_grows_past_its_first_room_and_still_finds_every_key() {
        let mut index = BandIndex::new();
        let first = index.bytes();
        for n in 1..=100_000u64 {
            index.insert(key(n), n as i64);
        }
        assert!(index.bytes() > first);
        assert_eq!(index.len(), 100_000);
        for n in 1..=100_000u64 {
            assert_eq!(stories(&index, key(n)), vec![n as i64], "key {n}");
        }
    }

    #[test]
    fn shards_held_in_many_chunks_find_every_key_and_wrap_around_their_end() {
        let mut index = BandIndex::new();
        // Some 2,300 keys a shard: tables of several chunks each.
        let keys = 600_000u64;
        for n in 1..=keys {
            index.insert(key(n), n as i64);
        }
        assert!(
            index.shards.iter().all(|s| s.chunks.len() >= 3
                && s.chunks[..s.chunks.len() - 1]
                    .iter()
                    .all(|c| c.len() == CHUNK_SLOTS)
                && s.chunks.iter().map(|c| c.len()).sum::<usize>() == s.len),
            "every shard is whole chunks and a rest"
        );
        // Runs that start near a table's end go on at its start.
        assert!(
            index
                .shards
                .iter()
                .any(|s| s.get(s.len - 1) != 0 && s.get(0) != 0),
            "some table is filled at both ends"
        );
        assert_eq!(index.len(), keys as usize);
        for n in 1..=keys {
            assert_eq!(stories(&index, key(n)), vec![n as i64], "key {n}");
        }
        assert!(stories(&index, key(keys + 1)).is_empty());
    }

    #[test]
    fn a_growing_index_holds_at_most_two_slots_a_key() {
        let mut index = BandIndex::new();
        let floor = BandIndex::new().bytes();
        for n in 1..=200_000u64 {
            index.insert(key(n), 1);
            if n % 10_000 == 0 {
                assert!(
                    index.bytes() <= floor + 2 * 8 * n as usize,
                    "{} bytes for {n} keys",
                    index.bytes()
                );
            }
        }
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
