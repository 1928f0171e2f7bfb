//! Step 8 of a backup run: a downloaded file is kept encrypted with the master key, in chunks,
//! each bound to its run, file and position (and whether it is the last), so a chunk moved to
//! another run or place, or a file cut short, fails to open and says so. Beside the files, a
//! sealed manifest says what the run was and what it holds.
//!
//! A sealed file: `XKB1`, the key id (8 bytes), then chunks of `u32` length (big-endian) and
//! `nonce ‖ ciphertext` from [`MasterKey::seal_bytes`].

use std::io::{Read, Write};
use std::path::Path;

use crate::vault::MasterKey;

const MAGIC: &[u8; 4] = b"XKB1";
/// Plaintext per chunk.
pub const CHUNK: usize = 1024 * 1024;

/// Why a sealed file did not open; the message is what an export or download says.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("The stored backup file is not one this server wrote.")]
    NotSealed,
    #[error("The stored backup file was sealed under another master key (key id {0}).")]
    OtherKey(String),
    #[error("The stored backup file was altered, or a part of it belongs to another backup.")]
    Forged,
    #[error("The stored backup file is cut short.")]
    CutShort,
    #[error("The stored backup file could not be read or written. The details were logged.")]
    Io,
    #[error("Not enough space to store the backup.")]
    DiskFull,
}

pub(super) fn io(e: std::io::Error) -> StoreError {
    if e.kind() == std::io::ErrorKind::StorageFull {
        return StoreError::DiskFull;
    }
    tracing::error!(error = %e, "backup storage");
    StoreError::Io
}

fn binding(run_id: i32, file: &str, index: u64, last: bool) -> String {
    format!("xray-backup:{run_id}:{file}:{index}:{}", u8::from(last))
}

/// Reads as much of `buf` as `source` has (less only at its end).
fn fill(source: &mut impl Read, buf: &mut [u8]) -> Result<usize, StoreError> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..]).map_err(io)? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Seals `plain` into `sealed` for file `file` of run `run_id`.
pub fn seal_file(
    key: &MasterKey,
    run_id: i32,
    file: &str,
    plain: &Path,
    sealed: &Path,
) -> Result<(), StoreError> {
    let mut source = std::io::BufReader::new(std::fs::File::open(plain).map_err(io)?);
    let mut out = std::io::BufWriter::new(crate::owner_only::create_file(sealed).map_err(io)?);
    out.write_all(MAGIC).map_err(io)?;
    out.write_all(key.id().as_bytes()).map_err(io)?;
    let mut current = vec![0u8; CHUNK];
    let mut next = vec![0u8; CHUNK];
    let mut have = fill(&mut source, &mut current)?;
    let mut index = 0u64;
    loop {
        // One chunk ahead, so the last one is known as it is sealed.
        let ahead = if have == CHUNK {
            fill(&mut source, &mut next)?
        } else {
            0
        };
        let last = ahead == 0;
        let chunk = key
            .seal_bytes(&current[..have], &binding(run_id, file, index, last))
            .map_err(|_| StoreError::Io)?;
        let length = u32::try_from(chunk.len()).map_err(|_| StoreError::Io)?;
        out.write_all(&length.to_be_bytes()).map_err(io)?;
        out.write_all(&chunk).map_err(io)?;
        if last {
            break;
        }
        std::mem::swap(&mut current, &mut next);
        have = ahead;
        index += 1;
    }
    out.into_inner()
        .map_err(|e| io(e.into_error()))?
        .sync_all()
        .map_err(io)
}

/// Opens `sealed` (file `file` of run `run_id`) into `out`; returns the plaintext's size.
pub fn open_file(
    key: &MasterKey,
    run_id: i32,
    file: &str,
    sealed: &Path,
    out: &mut impl Write,
) -> Result<u64, StoreError> {
    let mut source = std::io::BufReader::new(std::fs::File::open(sealed).map_err(io)?);
    let mut head = [0u8; 12];
    if fill(&mut source, &mut head)? != 12 || &head[..4] != MAGIC {
        return Err(StoreError::NotSealed);
    }
    let key_id = String::from_utf8_lossy(&head[4..]).into_owned();
    if key_id != key.id() {
        return Err(StoreError::OtherKey(key_id));
    }
    let mut written = 0u64;
    let mut index = 0u64;
    loop {
        let mut length = [0u8; 4];
        match fill(&mut source, &mut length)? {
            0 => return Err(StoreError::CutShort),
            4 => {}
            _ => return Err(StoreError::CutShort),
        }
        let length = u32::from_be_bytes(length) as usize;
        if length > CHUNK + 64 {
            return Err(StoreError::Forged);
        }
        let mut chunk = vec![0u8; length];
        if fill(&mut source, &mut chunk)? != length {
            return Err(StoreError::CutShort);
        }
        // Tried as the last chunk and as one in the middle: the binding says which it was.
        let (plain, last) = match key.open_bytes(&chunk, &binding(run_id, file, index, true)) {
            Some(plain) => (plain, true),
            None => (
                key.open_bytes(&chunk, &binding(run_id, file, index, false))
                    .ok_or(StoreError::Forged)?,
                false,
            ),
        };
        out.write_all(&plain).map_err(io)?;
        written += plain.len() as u64;
        if last {
            let mut rest = [0u8; 1];
            return if fill(&mut source, &mut rest)? == 0 {
                Ok(written)
            } else {
                Err(StoreError::Forged)
            };
        }
        index += 1;
    }
}
