//! Memory for a backfill's texts: zeroed anonymous pages of a mapping of
//! their own, starting on a page boundary (what direct I/O writes from) and,
//! on Linux, advised to be huge pages (2 MiB, `MADV_HUGEPAGE`) from a huge
//! page's length on.
//!
//! A text is filled over and over and written with direct I/O, which pins
//! each page of it for the write: with small pages the pinning was half of
//! the writing thread's kernel time (`pwrite` went from 5% of a file
//! backfill's profile to 1-2% with huge pages). The kept samples stay in
//! small pages: they are touched once, and a fresh huge page's first touch
//! costs more than 512 small ones on a virtual machine whose host takes back
//! free memory in huge-page pieces (paired runs: 11% more CPU with them in
//! huge pages). Where the advice is refused, the pages are small ones.

use std::io;

use memmap2::MmapMut;

/// Bytes of a huge page; a mapping at least this long is rounded up to a
/// multiple, so that the kernel places it on a huge page's boundary.
const HUGE_PAGE: usize = 2 << 20;

/// Bytes of a page.
pub const PAGE: usize = 4096;

/// Zeroed memory of its own mapping, starting on a page boundary.
pub struct Pages {
    map: MmapMut,
}

impl Pages {
    /// At least `len` zeroed bytes: whole pages, or whole huge pages from
    /// one huge page on.
    pub fn zeroed(len: usize) -> io::Result<Self> {
        let len = if len >= HUGE_PAGE {
            len.next_multiple_of(HUGE_PAGE)
        } else {
            len.max(1).next_multiple_of(PAGE)
        };
        let map = MmapMut::map_anon(len)?;
        #[cfg(target_os = "linux")]
        if len >= HUGE_PAGE {
            // Advice only: refused, the pages stay small ones.
            let _ = map.advise(memmap2::Advice::HugePage);
        }
        Ok(Self { map })
    }

    #[allow(clippy::len_without_is_empty)] // Never empty.
    #[inline]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    #[inline]
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    #[inline]
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_zeroed_page_aligned_and_as_long_as_asked() {
        for (asked, len) in [
            (0, PAGE),
            (1, PAGE),
            (PAGE, PAGE),
            (PAGE + 1, 2 * PAGE),
            (HUGE_PAGE - 8, HUGE_PAGE),
            (HUGE_PAGE, HUGE_PAGE),
            (HUGE_PAGE + 24, 2 * HUGE_PAGE),
        ] {
            let mut pages = Pages::zeroed(asked).expect("pages");
            assert_eq!(pages.len(), len, "{asked} bytes asked");
            assert!(pages.bytes().iter().all(|byte| *byte == 0));
            assert!(pages.bytes().as_ptr().addr().is_multiple_of(PAGE));
            *pages.bytes_mut().last_mut().expect("a byte") = 0xff;
            assert_eq!(pages.bytes()[len - 1], 0xff);
        }
    }
}
