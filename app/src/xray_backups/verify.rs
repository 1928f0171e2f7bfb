//! Step 7 of a backup run: the downloaded file is a zip that opens, and its entity files are
//! counted. A file that cannot be counted is a warning, not a failure: the data is still kept.

use std::collections::BTreeMap;
use std::io::Read;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
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
        let read = count_list(std::io::BufReader::new(&mut entry), array).map_err(|e| {
            if e.is_io() {
                format!("{name} could not be read from the zip.")
            } else {
                format!("{name} is not JSON.")
            }
        });
        match read {
            Ok(Some(n)) => {
                verified.counts.insert(array.to_string(), n);
            }
            Ok(None) => verified
                .warnings
                .push(format!("{name} has no \"{array}\" list to count.")),
            Err(warning) => verified.warnings.push(warning),
        }
    }
    Ok(verified)
}

/// Counts the items of the list `array` in the JSON object `reader` holds, reading it as a
/// stream: an entity file is never held in memory, whatever its size. `Ok(None)`: the object
/// has no such list.
fn count_list(reader: impl Read, array: &str) -> Result<Option<u64>, serde_json::Error> {
    let mut json = serde_json::Deserializer::from_reader(reader);
    let counted = Top(array).deserialize(&mut json)?;
    json.end()?;
    Ok(counted)
}

/// The top-level object: counts the value of key `.0`, skips the others.
struct Top<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = Option<u64>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = Option<u64>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == self.0 {
                found = map.next_value_seed(Items)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// A value that counts as its number of items when it is a list (`None` otherwise).
struct Items;

impl<'de> DeserializeSeed<'de> for Items {
    type Value = Option<u64>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Items {
    type Value = Option<u64>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut n = 0u64;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            n += 1;
        }
        Ok(Some(n))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::count_list;

    #[test]
    fn a_list_is_counted_as_a_stream_and_anything_else_is_not_a_list() {
        let count = |json: &str| count_list(json.as_bytes(), "tests");
        assert_eq!(
            count(r#"{"other": [1, 2], "tests": [{"id": "1", "steps": []}, {"id": "2"}]}"#)
                .unwrap(),
            Some(2)
        );
        assert_eq!(count(r#"{"tests": []}"#).unwrap(), Some(0));
        assert_eq!(count(r#"{"tests": {"id": "1"}}"#).unwrap(), None);
        assert_eq!(count(r#"{"testSets": [1]}"#).unwrap(), None);
        assert!(count(r#"{"tests": [1, 2"#).is_err(), "cut short");
        assert!(count(r#"["tests"]"#).is_err(), "not an object");
        assert!(count(r#"{"tests": []} trailing"#).is_err());
    }
}
