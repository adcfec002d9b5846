//! Every config shipped in `configs/` parses and passes its checks (a typo in a key would
//! otherwise only show when someone runs it).

// the real-data locator of the data crate's tests (same workspace layout)
#[path = "../../semiseg-data/tests/common/mod.rs"]
mod common;

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

#[test]
fn busi_labeled_set_has_every_class() {
    // BUSI ids run benign_*, malignant_*, normal_*: taking the first half of an id-ordered
    // training split labeled only benign images. The shipped configs draw as MGCC's split does.
    let Some(root) = common::shared_data("busi") else { return };
    let count = |ids: &[&semiseg_data::layout::Case], class: &str| ids.iter().filter(|c| semiseg_data::split::class_prefix(&c.id) == class).count();
    for seed in [41u64, 64, 1337] {
        for (draw, exact) in [("shuffled", false), ("stratified_class", true), ("stratified_foreground", false)] {
            let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../configs/mgcc-busi-cpu.toml");
            let sets = [format!("data.root=\"{}\"", root.display()), format!("data.split_seed={seed}"), format!("data.labeled_draw=\"{draw}\"")];
            let cfg = Config::from_file(&path, &sets).unwrap();
            let splits = semiseg_train::trainer::dataset_splits(&cfg).unwrap();
            let train = &splits["train"];
            let split = semiseg_train::trainer::labeled_split(&cfg, train).unwrap();
            assert_eq!(split.labeled.len(), 234);
            assert_eq!(split.labeled.len() + split.unlabeled.len(), train.len());
            let all: Vec<_> = train.iter().collect();
            let labeled: Vec<_> = split.labeled.iter().collect();
            for class in ["benign", "malignant", "normal"] {
                let (got, share) = (count(&labeled, class), count(&all, class) as f64 / train.len() as f64 * 234.0);
                let tolerance = if exact { 1.0 } else { 0.25 * share + 5.0 };
                assert!((got as f64 - share).abs() <= tolerance, "seed {seed}, {draw}: {got} {class} labeled, {share:.1} expected");
            }
        }
        let first = Config::from_file(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../configs/mgcc-busi-cpu.toml"), &[format!("data.root=\"{}\"", root.display()), format!("data.split_seed={seed}"), "data.labeled_draw=\"first\"".into()]).unwrap();
        let splits = semiseg_train::trainer::dataset_splits(&first).unwrap();
        let head = semiseg_train::trainer::labeled_split(&first, &splits["train"]).unwrap();
        assert!(head.labeled.iter().all(|c| c.id.starts_with("benign")), "list order labels benign images only (why the draw exists)");
    }
}
