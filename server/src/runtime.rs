//! The async runtime the server runs on.
//!
//! Server-side rendering walks a page's whole view tree in nested futures. In an unoptimised
//! (debug) build those frames are large and are not merged, and the service page's tree needs
//! more than tokio's default 2 MiB worker stack: the process aborts with a stack overflow.
//! Release builds need a fraction of it. 8 MiB, the size of a Linux main thread's stack, leaves
//! room in both; it is address space, so only the pages a render touches become resident.

/// Each worker thread's stack.
pub const WORKER_STACK_BYTES: usize = 8 << 20;

/// A multi-threaded runtime with I/O and timers, and worker stacks of [`WORKER_STACK_BYTES`].
pub fn build() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(WORKER_STACK_BYTES).build()
}

/// Raises the process's soft limit on open files to its hard limit: each connection is a file
/// descriptor, and the usual soft limit (1,024) is far below `--max-connections`. Returns the
/// limit now in force. Paydeck still caps connections below it (`--max-connections`): the
/// database, the cluster's watches and the probes need descriptors of their own.
pub fn raise_open_files_limit() -> std::io::Result<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit read or fill the struct they are given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        limit = raised;
    }
    Ok(limit.rlim_cur)
}
