//! Where the server-held keys come from and how their files are written: a setting holding the
//! hex, a file a setting names, or a file in the data folder generated on first start.

use std::path::Path;

use crate::config::{self, Config, ConfigError, KeySource, Setting};

use super::MasterKey;

/// The settings that name one server-held key: for reading it and for blaming it in errors.
pub struct KeySettings {
    pub inline: &'static Setting,
    pub file: &'static Setting,
    /// The file's name in the data folder.
    pub data_file: &'static str,
}

/// The key `source` points at, parsed by `parse`. `Ok(None)`: it is kept in the data folder and
/// that file does not exist yet (the caller decides whether a new one may be generated).
pub fn read_key<T>(
    source: &KeySource,
    settings: &KeySettings,
    data_dir: &Path,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, ConfigError> {
    match source {
        KeySource::Inline(hex) => parse(hex)
            .map(Some)
            .map_err(|m| ConfigError::new(settings.inline.name, m)),
        KeySource::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError::new(
                    settings.file.name,
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            parse(&text)
                .map(Some)
                .map_err(|m| ConfigError::new(settings.file.name, format!("the file {m}")))
        }
        KeySource::DataDir => {
            let path = data_dir.join(settings.data_file);
            match std::fs::read_to_string(&path) {
                Ok(text) => parse(&text).map(Some).map_err(|m| {
                    ConfigError::new(config::DATA_DIR.name, format!("{} {m}", path.display()))
                }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(ConfigError::new(
                    config::DATA_DIR.name,
                    format!("cannot read {}: {e}", path.display()),
                )),
            }
        }
    }
}

/// Where the master key is configured.
pub const MASTER_KEY_FILES: KeySettings = KeySettings {
    inline: &config::MASTER_KEY,
    file: &config::MASTER_KEY_FILE,
    data_file: "master.key",
};

/// Where the pepper is configured.
pub const PEPPER_FILES: KeySettings = KeySettings {
    inline: &config::PEPPER,
    file: &config::PEPPER_FILE,
    data_file: "pepper",
};

/// The setting to blame when a key from `source` is the wrong one.
pub fn blamed_setting(source: &KeySource, settings: &KeySettings) -> &'static str {
    match source {
        KeySource::File(_) => settings.file.name,
        KeySource::Inline(_) | KeySource::DataDir => settings.inline.name,
    }
}

/// Writes a key generated on first start into the data folder (owner-only), as a start-up step.
pub fn write_generated_key(path: &Path, hex: &str) -> Result<(), ConfigError> {
    write_private(path, hex).map_err(|e| {
        ConfigError::new(
            config::DATA_DIR.name,
            format!("cannot write {}: {e}", path.display()),
        )
    })
}

/// Writes `text` to a new file readable by its owner only.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = crate::owner_only::create_new_file(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Where a rotation writes the new key (data-folder keys only) until the database holds secrets
/// sealed under it; start-up finishes a rotation that stopped in between.
pub fn pending_key_path(config: &Config) -> std::path::PathBuf {
    config.data_dir.join("master.key.next")
}

/// Writes a new key file readable by its owner only; fails if the file exists.
pub fn write_key_file(path: &Path, key: &MasterKey) -> Result<(), ConfigError> {
    write_generated_key(path, &key.to_hex())
}
