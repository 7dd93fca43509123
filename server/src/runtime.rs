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
