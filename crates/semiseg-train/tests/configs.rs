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

#[test]
fn synth_defaults_are_the_medfusion_config() {
    // `semiseg synth train --data D` without --config uses the defaults: they must be the
    // recipe configs/synth-busi.toml documents, apart from the data it names
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../configs/synth-busi.toml");
    let shipped = SynthConfig::from_file(&path, &["data.root=\"\"".into(), "data.random_split=[]".into()]).unwrap();
    assert_eq!(SynthConfig::defaults_with(&[]).unwrap(), shipped);
    let small = SynthConfig::defaults_with(&["vae.iterations=7".into()]).unwrap();
    assert_eq!(small.vae.iterations, 7);
    assert!(SynthConfig::defaults_with(&["vae.iteratons=7".into()]).unwrap_err().to_string().contains("iteratons"));
}
