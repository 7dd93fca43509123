//! Process memory behaviour.
//!
//! Deserialising a full list of tens of thousands of objects on several threads makes glibc
//! keep one malloc arena per thread, each holding freed memory it rarely returns: resident
//! memory ends up well above what the kept objects need. Two arenas keep it close to that.

/// Limits glibc's malloc to two arenas (no effect elsewhere). Call once, first thing.
pub fn limit_allocator_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator tuning; called before any thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
