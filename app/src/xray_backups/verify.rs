//! Step 7 of a backup run: the downloaded file is a zip that opens, and its entity files are
//! counted. A file that cannot be counted is a warning, not a failure: the data is still kept.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// The entity files of an Xray backup, and the array each holds.
pub const ENTITY_FILES: [(&str, &str); 5] = [
    ("tests.json", "tests"),
    ("preconditions.json", "preconditions"),
    ("testsets.json", "testSets"),
    ("testplans.json", "testPlans"),
    ("testexecutions.json", "testExecutions"),
];

/// What a zip held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verified {
    /// Items per entity, by the array's name ("tests", "testExecutions", …).
    pub counts: BTreeMap<String, u64>,
    pub warnings: Vec<String>,
}

/// Opens `path` as a zip and counts what it holds; `Err` with the run's message when it is
/// not a whole zip.
pub fn verify(path: &Path) -> Result<Verified, String> {
    let file = std::fs::File::open(path).map_err(|e| {
        tracing::error!(error = %e, "opening a downloaded backup");
        "The downloaded backup could not be opened.".to_string()
    })?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|_| {
        "The downloaded file is not a whole zip (it may have been cut short).".to_string()
    })?;
    let mut verified = Verified::default();
    for (name, array) in ENTITY_FILES {
        let Ok(mut entry) = archive.by_name(name) else {
            verified
                .warnings
                .push(format!("The backup holds no {name}."));
            continue;
        };
        let mut text = Vec::new();
        let read: Result<serde_json::Value, String> = entry
            .read_to_end(&mut text)
            .map_err(|_| format!("{name} could not be read from the zip."))
            .and_then(|_| {
                serde_json::from_slice(&text).map_err(|_| format!("{name} is not JSON."))
            });
        match read.map(|v| v.get(array).and_then(|a| a.as_array()).map(Vec::len)) {
            Ok(Some(n)) => {
                verified.counts.insert(array.to_string(), n as u64);
            }
            Ok(None) => verified
                .warnings
                .push(format!("{name} has no \"{array}\" list to count.")),
            Err(warning) => verified.warnings.push(warning),
        }
    }
    Ok(verified)
}
