//! What the tracing macros write, for tests that prove what reaches a log line. The subscriber is
//! process-wide (the server's tasks log from any thread), so it records at every level only while
//! some test holds a [`Capture`]; the rest of the binary's tests pay nothing for it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

static CAPTURING: AtomicUsize = AtomicUsize::new(0);

static BUFFER: LazyLock<Arc<Mutex<Vec<u8>>>> = LazyLock::new(|| {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = buffer.clone();
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(move || LogWriter(writer.clone()))
        .with_filter(tracing_subscriber::filter::filter_fn(|_| {
            CAPTURING.load(Ordering::SeqCst) > 0
        }));
    let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer));
    buffer
});

/// Records every log line of the process, at every level, while it lives.
pub struct Capture;

impl Capture {
    /// Everything recorded so far (by this capture and any earlier one).
    pub fn buffer(&self) -> Arc<Mutex<Vec<u8>>> {
        BUFFER.clone()
    }
}

pub fn capture() -> Capture {
    LazyLock::force(&BUFFER);
    CAPTURING.fetch_add(1, Ordering::SeqCst);
    Capture
}

impl Drop for Capture {
    fn drop(&mut self) {
        CAPTURING.fetch_sub(1, Ordering::SeqCst);
    }
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
