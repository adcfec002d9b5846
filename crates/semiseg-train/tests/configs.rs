//! Every config shipped in `configs/` parses and passes its checks (a typo in a key would
//! otherwise only show when someone runs it).

use semiseg_train::config::Config;
use semiseg_train::diffusion::config::SynthConfig;
use std::path::PathBuf;

#[test]
fn shipped_configs_are_valid() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("synth-") {
            SynthConfig::from_file(&path, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        } else {
            Config::from_file(&path, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        n += 1;
    }
    assert!(n >= 30, "only {n} configs found in {}", dir.display());
}
