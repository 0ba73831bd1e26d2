//! The process's allocator: the system's, except that small blocks grow by moving.
//!
//! glibc's `realloc` locks the arena that owns the block, and its per-thread cache hands a
//! thread blocks that another thread allocated (they come back through `free`). Once one
//! such block is in a parsing thread's cache, every string the YAML scanner grows from it
//! grows inside the other thread's arena, and the two threads take turns on one lock:
//! thousands of futex waits per run, nearly half of `check`'s CPU time on a small estate.
//! Moving a small block (a fresh `malloc`, a copy, a `free`) goes through the calling
//! thread's own cache and never takes another arena's lock. Large blocks keep `realloc`,
//! which can grow them in place or remap their pages. With another C library the result
//! is the same, at worst with a copy where `realloc` might have grown a small block in
//! place.

use std::alloc::{GlobalAlloc, Layout, System};

/// A block this size or smaller, before or after the change, is moved: glibc serves such
/// blocks from its per-thread cache (whose largest bin holds 1032-byte chunks on 64-bit).
const MOVE_UP_TO: usize = 1024;

/// The allocator `main` installs; see the module documentation.
pub struct Allocator;

// SAFETY: every call is forwarded to `System` with the caller's layout, except `realloc`
// of small blocks, which allocates a block of the new layout, copies the bytes both
// layouts hold, and frees the old block with its own layout, as `GlobalAlloc` allows.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > MOVE_UP_TO && layout.size() > MOVE_UP_TO {
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: the caller guarantees new_size, rounded up to the alignment, does not
        // overflow isize, which is all from_size_align_unchecked needs.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let moved = unsafe { System.alloc(new_layout) };
        if !moved.is_null() {
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                System.dealloc(ptr, layout);
            }
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realloc_keeps_the_bytes_and_the_alignment_across_every_path() {
        let a = Allocator;
        for align in [1, 8, 64] {
            let mut layout = Layout::from_size_align(16, align).unwrap();
            let mut ptr = unsafe { a.alloc(layout) };
            assert!(!ptr.is_null());
            for i in 0..16 {
                unsafe { ptr.add(i).write(i as u8) };
            }
            // Small growth (moved), across the limit (moved), large growth (system realloc),
            // large shrink (system), shrink below the limit (moved).
            for new_size in [100, 5000, 9000, 2000, 10] {
                ptr = unsafe { a.realloc(ptr, layout, new_size) };
                assert!(!ptr.is_null());
                assert_eq!(
                    ptr as usize % align,
                    0,
                    "alignment {align} kept at {new_size}"
                );
                for i in 0..10 {
                    assert_eq!(
                        unsafe { ptr.add(i).read() },
                        i as u8,
                        "byte {i} at {new_size}"
                    );
                }
                layout = Layout::from_size_align(new_size, align).unwrap();
            }
            unsafe { a.dealloc(ptr, layout) };
        }
    }
}
