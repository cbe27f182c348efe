//! State shared by every VM of every worker process: proxy-wasm shared data
//! (key/value with CAS), shared queues and metrics.
//!
//! It lives in one anonymous `MAP_SHARED` mapping made before the workers
//! fork, so all of them see the same bytes. Key/value and queue operations
//! take a short spin lock (holders never run guest code); metric updates
//! are lock-free atomics. Everything is bounded: a full area answers with
//! an error status instead of growing.

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};

/// Upper bounds of the histogram buckets (the last, +Inf, is implicit).
pub const HISTOGRAM_BOUNDS: [f64; 10] = [0.5, 2.0, 4.0, 5.0, 10.0, 15.0, 20.0, 25.0, 50.0, 100.0];

const MAGIC: u64 = 0x5041_4c49_5341_4445; // "PALISADE"
pub const MAX_METRICS: usize = 4096;
pub const MAX_METRIC_NAME: usize = 176;
pub const MAX_QUEUES: usize = 4;
const MAX_QUEUE_NAME: usize = 120;
const KV_BYTES: usize = 2 << 20;
const QUEUE_BYTES: usize = 4 << 20;
const DEAD: u32 = 0x8000_0000;

#[repr(C)]
struct QueueDesc {
    name_len: u32,
    name: [u8; MAX_QUEUE_NAME],
    head: u64,
    tail: u64,
}

#[repr(C)]
struct Header {
    magic: u64,
    lock: AtomicU32,
    kv_used: u32,
    cas_seq: u32,
    metric_count: AtomicU32,
    queues: [QueueDesc; MAX_QUEUES],
}

#[repr(C)]
struct MetricSlot {
    kind: u32,
    name_len: u32,
    name: [u8; MAX_METRIC_NAME],
    value: AtomicI64,
    sum: AtomicU64,
    buckets: [AtomicU64; HISTOGRAM_BOUNDS.len() + 1],
}

const METRICS_OFF: usize = (std::mem::size_of::<Header>() + 63) & !63;
const KV_OFF: usize = METRICS_OFF + MAX_METRICS * std::mem::size_of::<MetricSlot>();
const QUEUES_OFF: usize = KV_OFF + KV_BYTES;
const TOTAL: usize = QUEUES_OFF + MAX_QUEUES * QUEUE_BYTES;

/// Kind of a metric, numbered as in the ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    Counter = 0,
    Gauge = 1,
    Histogram = 2,
}

impl MetricKind {
    pub fn from_abi(v: u32) -> Option<MetricKind> {
        match v {
            0 => Some(MetricKind::Counter),
            1 => Some(MetricKind::Gauge),
            2 => Some(MetricKind::Histogram),
            _ => None,
        }
    }
}

/// One metric as read for export.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSample {
    pub name: String,
    pub kind: MetricKind,
    pub value: i64,
    /// Histograms: count per bucket (not cumulative; last is +Inf) and sum.
    pub buckets: Vec<u64>,
    pub sum: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SharedError {
    NotFound,
    CasMismatch,
    Full,
    Empty,
    TooLarge,
}

/// A handle on the shared mapping. Cheap to copy; the mapping lives until
/// [`Region::unmap`] (nginx unmaps it with the configuration cycle).
#[derive(Clone, Copy, Debug)]
pub struct Region {
    base: *mut u8,
}

// The mapping is process-shared memory accessed only through atomics and
// under the region lock.
unsafe impl Send for Region {}
unsafe impl Sync for Region {}

struct Guard<'a>(&'a AtomicU32);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.store(0, Ordering::Release);
    }
}

impl Region {
    /// Maps a fresh zeroed region shared with processes forked later.
    pub fn map() -> Result<Region, String> {
        // SAFETY: an anonymous mapping with no address hint.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                TOTAL,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(format!("mmap of {TOTAL} bytes failed: {}", std::io::Error::last_os_error()));
        }
        let r = Region { base: p.cast() };
        r.header_mut().magic = MAGIC;
        Ok(r)
    }

    /// Unmaps the region. No handle may be used afterwards.
    ///
    /// # Safety
    /// Every copy of this handle in this process must be dead.
    pub unsafe fn unmap(self) {
        libc::munmap(self.base.cast(), TOTAL);
    }

    fn header(&self) -> &Header {
        // SAFETY: base points at a live mapping of TOTAL bytes whose start
        // is a Header (zero-initialized is a valid Header).
        unsafe { &*(self.base as *const Header) }
    }

    #[allow(clippy::mut_from_ref)]
    fn header_mut(&self) -> &mut Header {
        // SAFETY: as above; callers hold the lock for non-atomic fields.
        unsafe { &mut *(self.base as *mut Header) }
    }

    #[allow(clippy::mut_from_ref)]
    fn area(&self, off: usize, len: usize) -> &mut [u8] {
        // SAFETY: callers pass ranges inside the mapping, under the lock.
        unsafe { std::slice::from_raw_parts_mut(self.base.add(off), len) }
    }

    fn slot(&self, i: usize) -> &MetricSlot {
        // SAFETY: i < MAX_METRICS; slots are plain data plus atomics.
        unsafe { &*(self.base.add(METRICS_OFF + i * std::mem::size_of::<MetricSlot>()) as *const MetricSlot) }
    }

    #[allow(clippy::mut_from_ref)]
    fn slot_mut(&self, i: usize) -> &mut MetricSlot {
        // SAFETY: as above; written only under the lock before publication.
        unsafe { &mut *(self.base.add(METRICS_OFF + i * std::mem::size_of::<MetricSlot>()) as *mut MetricSlot) }
    }

    fn lock(&self) -> Guard<'_> {
        let l = &self.header().lock;
        // SAFETY: getpid has no preconditions.
        let me = unsafe { libc::getpid() } as u32;
        let mut spins: u64 = 0;
        loop {
            match l.compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return Guard(l),
                Err(owner) => {
                    spins += 1;
                    if spins > 64 {
                        std::thread::yield_now();
                    }
                    // A holder that died (killed worker) never unlocks;
                    // holders only copy bytes, so after ~1 s take it over.
                    if spins.is_multiple_of(100_000) && owner != 0 {
                        // SAFETY: kill with signal 0 only checks existence.
                        let alive = unsafe { libc::kill(owner as i32, 0) } == 0;
                        if !alive {
                            let _ = l.compare_exchange(owner, me, Ordering::Acquire, Ordering::Relaxed);
                        }
                    }
                }
            }
        }
    }

    // ---- metrics ----

    /// The id of metric `name`, creating it; `None` when the table is full
    /// or the name too long.
    pub fn define_metric(&self, kind: MetricKind, name: &str) -> Option<u32> {
        if name.len() > MAX_METRIC_NAME {
            return None;
        }
        let h = self.header();
        if let Some(i) = self.find_metric(name, h.metric_count.load(Ordering::Acquire) as usize) {
            return Some(i as u32);
        }
        let _g = self.lock();
        let n = h.metric_count.load(Ordering::Acquire) as usize;
        if let Some(i) = self.find_metric(name, n) {
            return Some(i as u32);
        }
        if n >= MAX_METRICS {
            return None;
        }
        let s = self.slot_mut(n);
        s.kind = kind as u32;
        s.name[..name.len()].copy_from_slice(name.as_bytes());
        s.name_len = name.len() as u32;
        h.metric_count.store(n as u32 + 1, Ordering::Release);
        Some(n as u32)
    }

    fn find_metric(&self, name: &str, n: usize) -> Option<usize> {
        (0..n.min(MAX_METRICS)).find(|&i| {
            let s = self.slot(i);
            s.name.get(..s.name_len as usize) == Some(name.as_bytes())
        })
    }

    fn live_slot(&self, id: u32) -> Option<&MetricSlot> {
        let n = self.header().metric_count.load(Ordering::Acquire);
        (id < n).then(|| self.slot(id as usize))
    }

    pub fn increment_metric(&self, id: u32, by: i64) -> bool {
        match self.live_slot(id) {
            Some(s) => {
                s.value.fetch_add(by, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Counters and gauges: sets the value; histograms: records a sample.
    pub fn record_metric(&self, id: u32, v: u64) -> bool {
        let Some(s) = self.live_slot(id) else { return false };
        if s.kind == MetricKind::Histogram as u32 {
            let b = HISTOGRAM_BOUNDS.iter().position(|&le| v as f64 <= le).unwrap_or(HISTOGRAM_BOUNDS.len());
            s.buckets[b].fetch_add(1, Ordering::Relaxed);
            s.sum.fetch_add(v, Ordering::Relaxed);
            s.value.fetch_add(1, Ordering::Relaxed);
        } else {
            s.value.store(v as i64, Ordering::Relaxed);
        }
        true
    }

    pub fn get_metric(&self, id: u32) -> Option<i64> {
        self.live_slot(id).map(|s| s.value.load(Ordering::Relaxed))
    }

    pub fn metrics(&self) -> Vec<MetricSample> {
        let n = self.header().metric_count.load(Ordering::Acquire) as usize;
        (0..n.min(MAX_METRICS))
            .filter_map(|i| {
                let s = self.slot(i);
                let name = std::str::from_utf8(s.name.get(..s.name_len as usize)?).ok()?.to_string();
                Some(MetricSample {
                    name,
                    kind: MetricKind::from_abi(s.kind)?,
                    value: s.value.load(Ordering::Relaxed),
                    buckets: s.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect(),
                    sum: s.sum.load(Ordering::Relaxed),
                })
            })
            .collect()
    }

    // ---- shared data ----

    fn kv(&self) -> &mut [u8] {
        self.area(KV_OFF, KV_BYTES)
    }

    /// Entries as (offset, key len, value len, capacity, cas, live).
    fn kv_entries(kv: &[u8], used: usize) -> Vec<(usize, usize, usize, usize, u32, bool)> {
        let mut out = Vec::new();
        let mut off = 0;
        while off + 16 <= used {
            let rd = |o: usize| u32::from_le_bytes([kv[o], kv[o + 1], kv[o + 2], kv[o + 3]]);
            let (klen, vlen, cap, cas) = (rd(off), rd(off + 4) as usize, rd(off + 8) as usize, rd(off + 12));
            let live = klen & DEAD == 0;
            let klen = (klen & !DEAD) as usize;
            out.push((off, klen, vlen, cap, cas, live));
            off += 16 + klen + cap;
        }
        out
    }

    fn kv_find(&self, key: &[u8]) -> Option<(usize, usize, usize, u32)> {
        let kv = self.kv();
        let used = self.header().kv_used as usize;
        Self::kv_entries(kv, used).into_iter().find_map(|(off, klen, vlen, cap, cas, live)| {
            (live && kv.get(off + 16..off + 16 + klen) == Some(key)).then_some((off, vlen, cap, cas))
        })
    }

    pub fn get_data(&self, key: &[u8]) -> Option<(Vec<u8>, u32)> {
        let _g = self.lock();
        let (off, vlen, _, cas) = self.kv_find(key)?;
        let start = off + 16 + key.len();
        Some((self.kv().get(start..start + vlen)?.to_vec(), cas))
    }

    /// Sets `key`; a non-zero `cas` must match the current one.
    pub fn set_data(&self, key: &[u8], value: &[u8], cas: u32) -> Result<(), SharedError> {
        let _g = self.lock();
        let h = self.header_mut();
        let found = self.kv_find(key);
        if let Some((_, _, _, cur)) = found {
            if cas != 0 && cas != cur {
                return Err(SharedError::CasMismatch);
            }
        }
        h.cas_seq = h.cas_seq.wrapping_add(1).max(1);
        let new_cas = h.cas_seq;
        let kv = self.kv();
        let put = |kv: &mut [u8], o: usize, v: u32| kv[o..o + 4].copy_from_slice(&v.to_le_bytes());
        if let Some((off, _, cap, _)) = found {
            if value.len() <= cap {
                let start = off + 16 + key.len();
                kv[start..start + value.len()].copy_from_slice(value);
                put(kv, off + 4, value.len() as u32);
                put(kv, off + 12, new_cas);
                return Ok(());
            }
            let klen = key.len() as u32 | DEAD;
            put(kv, off, klen);
        }
        let cap = value.len() + value.len() / 4 + 16;
        let need = 16 + key.len() + cap;
        if h.kv_used as usize + need > KV_BYTES {
            self.kv_compact();
        }
        let used = h.kv_used as usize;
        if used + need > KV_BYTES {
            return Err(SharedError::Full);
        }
        let kv = self.kv();
        put(kv, used, key.len() as u32);
        put(kv, used + 4, value.len() as u32);
        put(kv, used + 8, cap as u32);
        put(kv, used + 12, new_cas);
        kv[used + 16..used + 16 + key.len()].copy_from_slice(key);
        kv[used + 16 + key.len()..used + 16 + key.len() + value.len()].copy_from_slice(value);
        h.kv_used = (used + need) as u32;
        Ok(())
    }

    fn kv_compact(&self) {
        let h = self.header_mut();
        let kv = self.kv();
        let mut to = 0;
        for (off, klen, _, cap, _, live) in Self::kv_entries(kv, h.kv_used as usize) {
            let len = 16 + klen + cap;
            if live {
                kv.copy_within(off..off + len, to);
                to += len;
            }
        }
        h.kv_used = to as u32;
    }

    // ---- queues ----

    /// Registers (or finds) queue `name`; ids start at 1.
    pub fn register_queue(&self, name: &str) -> Result<u32, SharedError> {
        if name.len() > MAX_QUEUE_NAME {
            return Err(SharedError::TooLarge);
        }
        let _g = self.lock();
        let h = self.header_mut();
        for (i, q) in h.queues.iter_mut().enumerate() {
            if q.name_len as usize == name.len() && &q.name[..name.len()] == name.as_bytes() && q.name_len > 0 {
                return Ok(i as u32 + 1);
            }
            if q.name_len == 0 {
                q.name[..name.len()].copy_from_slice(name.as_bytes());
                q.name_len = name.len() as u32;
                q.head = 0;
                q.tail = 0;
                return Ok(i as u32 + 1);
            }
        }
        Err(SharedError::Full)
    }

    pub fn resolve_queue(&self, name: &str) -> Option<u32> {
        let _g = self.lock();
        self.header()
            .queues
            .iter()
            .position(|q| q.name_len > 0 && q.name.get(..q.name_len as usize) == Some(name.as_bytes()))
            .map(|i| i as u32 + 1)
    }

    fn queue(&self, id: u32) -> Option<(&mut QueueDesc, &mut [u8])> {
        let i = (id as usize).checked_sub(1).filter(|&i| i < MAX_QUEUES)?;
        let q = &mut self.header_mut().queues[i];
        if q.name_len == 0 {
            return None;
        }
        Some((q, self.area(QUEUES_OFF + i * QUEUE_BYTES, QUEUE_BYTES)))
    }

    pub fn enqueue(&self, id: u32, msg: &[u8]) -> Result<(), SharedError> {
        let _g = self.lock();
        let (q, ring) = self.queue(id).ok_or(SharedError::NotFound)?;
        let need = 4 + msg.len() as u64;
        if q.tail - q.head + need > QUEUE_BYTES as u64 {
            return Err(SharedError::Full);
        }
        ring_write(ring, q.tail, &(msg.len() as u32).to_le_bytes());
        ring_write(ring, q.tail + 4, msg);
        q.tail += need;
        Ok(())
    }

    pub fn dequeue(&self, id: u32) -> Result<Vec<u8>, SharedError> {
        let _g = self.lock();
        let (q, ring) = self.queue(id).ok_or(SharedError::NotFound)?;
        if q.tail == q.head {
            return Err(SharedError::Empty);
        }
        let mut len = [0u8; 4];
        ring_read(ring, q.head, &mut len);
        let len = u32::from_le_bytes(len) as u64;
        let mut msg = vec![0u8; len as usize];
        ring_read(ring, q.head + 4, &mut msg);
        q.head += 4 + len;
        Ok(msg)
    }

    pub fn queue_pending(&self, id: u32) -> bool {
        let _g = self.lock();
        self.queue(id).is_some_and(|(q, _)| q.tail > q.head)
    }
}

fn ring_write(ring: &mut [u8], pos: u64, data: &[u8]) {
    let n = ring.len();
    let start = (pos % n as u64) as usize;
    let first = data.len().min(n - start);
    ring[start..start + first].copy_from_slice(&data[..first]);
    ring[..data.len() - first].copy_from_slice(&data[first..]);
}

fn ring_read(ring: &[u8], pos: u64, out: &mut [u8]) {
    let n = ring.len();
    let start = (pos % n as u64) as usize;
    let first = out.len().min(n - start);
    out[..first].copy_from_slice(&ring[start..start + first]);
    let rest = out.len() - first;
    out[first..].copy_from_slice(&ring[..rest]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cas_and_overwrite() {
        let r = Region::map().unwrap();
        assert_eq!(r.get_data(b"k"), None);
        r.set_data(b"k", b"one", 0).unwrap();
        let (v, cas) = r.get_data(b"k").unwrap();
        assert_eq!(v, b"one");
        assert_eq!(r.set_data(b"k", b"two", cas + 1), Err(SharedError::CasMismatch));
        r.set_data(b"k", b"a much longer value than before", cas).unwrap();
        let (v, cas2) = r.get_data(b"k").unwrap();
        assert_eq!(v, b"a much longer value than before");
        assert_ne!(cas, cas2);
        // Many rewrites of growing values compact instead of filling up.
        for i in 0..5000 {
            let v = vec![b'x'; 100 + i % 700];
            r.set_data(format!("key{}", i % 7).as_bytes(), &v, 0).unwrap();
        }
        assert!(r.get_data(b"key3").unwrap().0.len() >= 100);
        unsafe { r.unmap() };
    }

    #[test]
    fn queue_wraps_and_bounds() {
        let r = Region::map().unwrap();
        let id = r.register_queue("q").unwrap();
        assert_eq!(r.register_queue("q").unwrap(), id);
        assert_eq!(r.resolve_queue("q"), Some(id));
        assert_eq!(r.resolve_queue("nope"), None);
        assert_eq!(r.dequeue(id), Err(SharedError::Empty));
        let msg = vec![7u8; 300_000];
        for round in 0..50 {
            r.enqueue(id, &msg).unwrap();
            r.enqueue(id, format!("m{round}").as_bytes()).unwrap();
            assert_eq!(r.dequeue(id).unwrap(), msg);
            assert_eq!(r.dequeue(id).unwrap(), format!("m{round}").as_bytes());
        }
        let big = vec![0u8; QUEUE_BYTES];
        assert_eq!(r.enqueue(id, &big), Err(SharedError::Full));
        assert_eq!(r.enqueue(99, b"x"), Err(SharedError::NotFound));
        unsafe { r.unmap() };
    }

    #[test]
    fn metrics_are_shared_by_name() {
        let r = Region::map().unwrap();
        let a = r.define_metric(MetricKind::Counter, "a.b").unwrap();
        assert_eq!(r.define_metric(MetricKind::Counter, "a.b"), Some(a));
        r.increment_metric(a, 3);
        let h = r.define_metric(MetricKind::Histogram, "h").unwrap();
        r.record_metric(h, 5);
        r.record_metric(h, 1000);
        let m = r.metrics();
        assert_eq!(m[0].value, 3);
        assert_eq!(m[1].buckets[3], 1);
        assert_eq!(m[1].buckets[10], 1);
        assert_eq!(m[1].sum, 1005);
        assert!(!r.increment_metric(77, 1));
        unsafe { r.unmap() };
    }
}
