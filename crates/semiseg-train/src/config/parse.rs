//! TOML text to config structs, with `--set key=value` overrides applied first.

use super::ConfigError;
use std::path::Path;

/// Applies `key=value` overrides to a TOML document; the value is parsed as TOML (`3`, `0.5`,
/// `"text"`, `[1, 2]`) and falls back to a string.
pub fn apply_overrides(doc: &mut toml::Table, overrides: &[String]) -> Result<(), ConfigError> {
    for o in overrides {
        let Some((key, raw)) = o.split_once('=') else {
            return Err(ConfigError::Parse { origin: format!("--set {o}"), message: "expected key=value".into() });
        };
        let key = key.trim();
        let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_string()));
        let mut table = &mut *doc;
        let parts: Vec<&str> = key.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            let entry = table.entry(part.to_string()).or_insert_with(|| toml::Value::Table(Default::default()));
            table = entry.as_table_mut().ok_or_else(|| ConfigError::Parse { origin: format!("--set {o}"), message: format!("'{part}' is not a section") })?;
        }
        table.insert(parts[parts.len() - 1].to_string(), value);
    }
    Ok(())
}

/// Parses TOML text into `T` after applying `key=value` overrides; unknown keys are rejected
/// by `T`'s `deny_unknown_fields`, and the message names the origin and the key.
pub fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, origin: &str, overrides: &[String]) -> Result<T, ConfigError> {
    let mut doc: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Parse { origin: origin.into(), message: e.to_string() })?;
    apply_overrides(&mut doc, overrides)?;
    doc.try_into().map_err(|e: toml::de::Error| ConfigError::Parse { origin: origin.into(), message: e.to_string() })
}

/// Reads a TOML file into `T` (see [`parse_toml`]).
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &Path, overrides: &[String]) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io { path: path.into(), source: e })?;
    parse_toml(&text, &path.display().to_string(), overrides)
}
