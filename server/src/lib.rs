//! The server crate as a library, so integration tests drive the same router and CLI.

pub mod cli;
pub mod csrf;
pub mod error;
pub mod error_status;
pub mod serve;

// Declared in the library so the binary, the tests and the benchmarks all run on it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
