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

/// Hands memory that malloc holds freed back to the system. A first sync frees the pages of
/// every list it read at once (hundreds of megabytes at 100,000 pods); without this the
/// process keeps them resident. Cheap, so it is done after every sync.
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
