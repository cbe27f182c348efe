//! nginx buffer chains as the host reads them: a snapshot of the chain's
//! pieces (memory, or a temporary file when the body is large) read lazily,
//! so the filter only copies what it asks for.

use std::os::unix::fs::FileExt;

use ngx::ffi::{ngx_buf_t, ngx_chain_t};
use palisade_wasm_host::BodySource;

enum Piece {
    Mem(*const u8, usize),
    File(i32, u64, usize),
}

/// The data of a chain at the time it was taken. Valid while the request's
/// buffers are (the request pool outlives every callback that reads it).
pub struct ChainView {
    pieces: Vec<Piece>,
    len: usize,
}

/// Whether a buffer holds file data (`in_file` without being in memory).
unsafe fn in_file(b: *const ngx_buf_t) -> bool {
    (*b).in_file() != 0 && (*b).temporary() == 0 && (*b).memory() == 0 && (*b).mmap() == 0
}

impl ChainView {
    /// # Safety
    /// `cl` must be a valid chain (or null).
    pub unsafe fn new(mut cl: *const ngx_chain_t) -> ChainView {
        let mut pieces = Vec::new();
        let mut len = 0;
        while !cl.is_null() {
            let b = (*cl).buf;
            if !b.is_null() {
                if in_file(b) && !(*b).file.is_null() {
                    let n = ((*b).file_last - (*b).file_pos).max(0) as usize;
                    if n > 0 {
                        pieces.push(Piece::File((*(*b).file).fd, (*b).file_pos as u64, n));
                        len += n;
                    }
                } else if !(*b).pos.is_null() && (*b).last > (*b).pos {
                    let n = (*b).last.offset_from((*b).pos) as usize;
                    pieces.push(Piece::Mem((*b).pos, n));
                    len += n;
                }
            }
            cl = (*cl).next;
        }
        ChainView { pieces, len }
    }
}

impl BodySource for ChainView {
    fn len(&self) -> usize {
        self.len
    }

    fn read(&self, start: usize, len: usize) -> Vec<u8> {
        let end = start.saturating_add(len).min(self.len);
        let mut out = Vec::with_capacity(end.saturating_sub(start));
        let mut off = 0;
        for p in &self.pieces {
            let n = match p {
                Piece::Mem(_, n) | Piece::File(_, _, n) => *n,
            };
            let (ps, pe) = (off, off + n);
            off = pe;
            if pe <= start {
                continue;
            }
            if ps >= end {
                break;
            }
            let (from, to) = (start.max(ps) - ps, end.min(pe) - ps);
            match p {
                // SAFETY: the piece was a live buffer's [pos, last).
                Piece::Mem(ptr, _) => {
                    out.extend_from_slice(unsafe { std::slice::from_raw_parts(ptr.add(from), to - from) })
                }
                Piece::File(fd, foff, _) => {
                    // Borrow the descriptor without owning (closing) it.
                    // SAFETY: nginx keeps the temp file open for the request.
                    let f = std::mem::ManuallyDrop::new(unsafe {
                        <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(*fd)
                    });
                    let mut buf = vec![0u8; to - from];
                    let mut got = 0;
                    while got < buf.len() {
                        match f.read_at(&mut buf[got..], foff + (from + got) as u64) {
                            Ok(0) | Err(_) => break,
                            Ok(k) => got += k,
                        }
                    }
                    buf.truncate(got);
                    out.extend_from_slice(&buf);
                }
            }
        }
        out
    }
}

/// Marks every buffer of a chain consumed; returns whether one was last.
///
/// # Safety
/// `cl` must be a valid chain (or null).
pub unsafe fn consume(mut cl: *mut ngx_chain_t) -> bool {
    let mut last = false;
    while !cl.is_null() {
        let b = (*cl).buf;
        if !b.is_null() {
            (*b).pos = (*b).last;
            (*b).file_pos = (*b).file_last;
            last |= (*b).last_buf() != 0 || (*b).last_in_chain() != 0;
        }
        cl = (*cl).next;
    }
    last
}

/// Whether a chain carries the end of the response.
///
/// # Safety
/// `cl` must be a valid chain (or null).
pub unsafe fn has_last(mut cl: *const ngx_chain_t) -> bool {
    while !cl.is_null() {
        let b = (*cl).buf;
        if !b.is_null() && ((*b).last_buf() != 0 || (*b).last_in_chain() != 0) {
            return true;
        }
        cl = (*cl).next;
    }
    false
}
