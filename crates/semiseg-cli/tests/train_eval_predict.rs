//! `semiseg train`, `eval`, `predict` and `report` end to end on a tiny synthetic PNG dataset,
//! plus the errors a user meets: unknown config keys, a second run into the same directory.

use image::{GrayImage, Luma};
use std::path::Path;
use std::process::{Command, Output};

fn semiseg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_semiseg")).args(args).output().expect("binary runs")
}

fn semiseg_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_semiseg")).current_dir(dir).args(args).output().expect("binary runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn dataset(root: &Path) {
    for d in ["images", "masks", "new"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let mut lists = [String::new(), String::new(), String::new()];
    for i in 0..14u32 {
        let (cx, cy, r) = (10 + (i * 5) % 12, 12 + (i * 3) % 8, 5 + i % 3);
        let inside = |x: u32, y: u32| (x as i32 - cx as i32).pow(2) + (y as i32 - cy as i32).pow(2) <= (r * r) as i32;
        let img = GrayImage::from_fn(32, 32, |x, y| Luma([if inside(x, y) { 210 } else { 30 + ((x + y * 5 + i) % 40) as u8 }]));
        let id = format!("case{i:02}");
        img.save(root.join(format!("images/{id}.png"))).unwrap();
        GrayImage::from_fn(32, 32, |x, y| Luma([if inside(x, y) { 255 } else { 0 }])).save(root.join(format!("masks/{id}.png"))).unwrap();
        lists[if i < 10 { 0 } else if i < 12 { 1 } else { 2 }].push_str(&format!("{id}\n"));
        if i == 13 {
            img.save(root.join("new/any name.png")).unwrap();
        }
    }
    for (name, l) in ["train", "val", "test"].iter().zip(lists) {
        std::fs::write(root.join(format!("{name}.list")), l).unwrap();
    }
}

/// Writes a config for the tiny synthetic datasets at `path`: two classes, a quarter-width UNet,
/// cases as labeled units, intensities / 255; `data` and `train` are those sections' other lines.
fn tiny_config(path: &Path, data: &str, method: &str, train: &str) {
    let text = format!("name = \"tiny\"\n[data]\nlabeled_unit = \"cases\"\nnormalize = \"divide255\"\n{data}[model]\nclasses = 2\nwidth = 0.25\n[method]\nname = \"{method}\"\n[train]\n{train}");
    std::fs::write(path, text).unwrap();
}

#[test]
fn train_eval_predict_report() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    dataset(&data);
    let config = d.path().join("tiny.toml");
    // data.root relative to the working directory of `train`
    tiny_config(&config, "root = \"data\"\nlabeled = 4\npatch = [32, 32]\n", "mean_teacher", "iterations = 4\nbatch = 4\nlabeled_batch = 2\nval_every = 2\n");
    let run = d.path().join("run");
    let (c, r) = (config.to_str().unwrap(), run.to_str().unwrap());
    let o = semiseg_in(d.path(), &["train", "--config", c, "--out", r]);
    assert!(o.status.success(), "{}", text(&o));
    let saved = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(saved.contains(&format!("root = \"{}\"", std::fs::canonicalize(&data).unwrap().display())), "data.root saved resolved: {saved}");
    assert!(text(&o).contains("test Dice (last checkpoint)"), "{}", text(&o));
    for f in ["config.toml", "train.jsonl", "checkpoints/last.ckpt", "checkpoints/best.ckpt", "eval/test_last/per_case.csv", "eval/test_best/summary.json"] {
        assert!(run.join(f).is_file(), "missing {f}");
    }
    // A second run into the same directory is refused, not overwritten.
    let o = semiseg(&["train", "--config", c, "--out", r]);
    assert!(!o.status.success() && text(&o).contains("--resume"), "{}", text(&o));
    // Resuming a finished run is a no-op that still reports.
    let o = semiseg(&["train", "--resume", r]);
    assert!(o.status.success(), "{}", text(&o));

    // from another directory: the saved root still finds the data
    let o = semiseg_in(&run, &["eval", "--run", r, "--checkpoint", "last", "--split", "val"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(run.join("eval/val_last/per_case.csv").is_file());
    // best was chosen on val: scoring it there warns, whether named or given as a path
    for ckpt in ["best", run.join("checkpoints/best.ckpt").to_str().unwrap()] {
        let o = semiseg(&["eval", "--run", r, "--checkpoint", ckpt, "--split", "val"]);
        assert!(o.status.success() && text(&o).contains("optimistic"), "{}", text(&o));
    }

    let out = d.path().join("pred");
    let o = semiseg(&["predict", "--run", r, "--input", data.join("new").to_str().unwrap(), "--output", out.to_str().unwrap(), "--probabilities"]);
    assert!(o.status.success(), "{}", text(&o));
    let mask = image::open(out.join("any name.png")).unwrap().to_luma8();
    assert_eq!(mask.dimensions(), (32, 32));
    assert!(mask.pixels().all(|p| p[0] == 0 || p[0] == 255));
    assert!(out.join("any name_prob.npy").is_file());

    // an array job's three shards write exactly what one unsharded run writes
    let images = data.join("images");
    let (whole, sharded) = (d.path().join("whole"), d.path().join("sharded"));
    let o = semiseg(&["predict", "--run", r, "--input", images.to_str().unwrap(), "--output", whole.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    for i in 0..3 {
        let o = semiseg(&["predict", "--run", r, "--input", images.to_str().unwrap(), "--output", sharded.to_str().unwrap(), "--shard", &format!("{i}/3")]);
        assert!(o.status.success() && text(&o).contains(&format!("shard {i}/3: {} of 14 inputs", if i < 2 { 5 } else { 4 })), "{}", text(&o));
    }
    let files = |dir: &Path| {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())).collect();
        v.sort();
        v
    };
    assert_eq!(files(&whole).len(), 14);
    assert!(files(&whole) == files(&sharded), "sharded masks differ from the unsharded run");
    let o = semiseg(&["predict", "--run", r, "--input", images.to_str().unwrap(), "--output", sharded.to_str().unwrap(), "--shard", "3/3"]);
    assert!(!o.status.success() && text(&o).contains("0 to 2"), "{}", text(&o));

    let o = semiseg_in(&out, &["report", "--run", r, "--overlays", "1"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(run.join("plots/loss.png").is_file() && run.join("plots/validation.png").is_file());
}

#[test]
fn config_errors_name_the_key() {
    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("bad.toml");
    std::fs::write(&c, "[train]\nlearning_rate = 0.1\n").unwrap();
    let o = semiseg(&["train", "--config", c.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("learning_rate"), "{}", text(&o));
    let o = semiseg(&["train", "--set", "model.width=-1"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("model.width"), "{}", text(&o));
}

#[test]
fn batch_norm_on_one_value_per_channel_stops_training_with_the_reason() {
    // a 16 x 16 patch leaves the UNet's bottleneck 1 x 1: with one sample, one value per channel
    let d = tempfile::tempdir().unwrap();
    dataset(&d.path().join("data"));
    let config = d.path().join("one.toml");
    tiny_config(&config, "root = \"data\"\nlabeled = 4\npatch = [16, 16]\n", "supervised", "iterations = 2\nbatch = 1\nlabeled_batch = 1\nval_every = 0\n");
    let run = d.path().join("run");
    let o = semiseg_in(d.path(), &["train", "--config", config.to_str().unwrap(), "--out", run.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("iteration 1: batch norm in training needs more than 1 value per channel"), "{}", text(&o));
}

#[test]
fn clcc_trains_on_a_drawn_split_and_switches_terms() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    dataset(&data);
    for list in ["train", "val", "test"] {
        std::fs::remove_file(data.join(format!("{list}.list"))).unwrap(); // only the drawn split exists
    }
    let config = d.path().join("clcc.toml");
    std::fs::write(
        &config,
        format!(
            "name = \"tiny-clcc\"\n[data]\nroot = \"{}\"\nrandom_split = [0.6, 0.2, 0.2]\nsplit_seed = 3\nlabeled = 4\nlabeled_unit = \"cases\"\nchannels = 3\nnormalize = \"imagenet\"\npatch = [128, 128]\nimage_interp = \"bilinear\"\naugment = \"hflip_vflip_rot90\"\n\
             [model]\nname = \"projunet\"\nclasses = 2\nfeature_scale = 16\n[method]\nname = \"clcc\"\nconsistency = 1.0\ncontrast_until = 2\n\
             [train]\niterations = 4\nbatch = 4\nlabeled_batch = 2\noptimizer = \"adamw\"\nlr = 1e-3\nweight_decay = 1e-2\nschedule = \"cosine_clcc\"\nwarmup = 2\nval_every = 2\n[eval]\nlogit_threshold = true\n",
            data.display()
        ),
    )
    .unwrap();
    let run = d.path().join("run");
    let o = semiseg(&["train", "--config", config.to_str().unwrap(), "--out", run.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let lines = |f: &str| std::fs::read_to_string(run.join(f)).unwrap().lines().count();
    assert_eq!([lines("splits/train.list"), lines("splits/val.list"), lines("splits/test.list")], [8, 3, 3]);
    let log: Vec<serde_json::Value> = std::fs::read_to_string(run.join("train.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).filter(|v: &serde_json::Value| v.get("terms").is_some()).collect();
    let weight = |i: usize, term: &str| log[i]["terms"][format!("{term}_weight")].as_f64().unwrap();
    assert_eq!((weight(0, "contrast"), weight(0, "consistency")), (1.0, 0.0), "contrastive phase first");
    assert_eq!((weight(3, "contrast"), weight(3, "consistency")), (0.0, 1.0), "then consistency only");
    assert_eq!(log[0]["lr"].as_f64().unwrap(), 0.0, "CLCC's warm-up starts at lr 0");
    let csv = std::fs::read_to_string(run.join("eval/test_last/per_case.csv")).unwrap();
    assert!(csv.lines().next().unwrap().contains("accuracy,mae"), "{csv}");
    assert_eq!(csv.lines().count(), 4);

    let out = d.path().join("pred");
    let o = semiseg(&["predict", "--run", run.to_str().unwrap(), "--input", data.join("new").to_str().unwrap(), "--output", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(image::open(out.join("any name.png")).unwrap().to_luma8().dimensions(), (32, 32));
    // CLCC's scoring: at the network's 128² against resized masks, logit threshold as the legacy
    // test script (the run's setting), and switched off from the command line
    let o = semiseg(&["eval", "--run", run.to_str().unwrap(), "--checkpoint", "last", "--resolution", "network"]);
    assert!(o.status.success(), "{}", text(&o));
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("eval/test_last_network_logit/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["logit_threshold"], true);
    assert_eq!(summary["summary"]["cases"], 3);
    let o = semiseg(&["eval", "--run", run.to_str().unwrap(), "--checkpoint", "last", "--resolution", "network", "--logit-threshold", "false"]);
    assert!(o.status.success(), "{}", text(&o));
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("eval/test_last_network/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["logit_threshold"], false);
    // training ended by writing the plots (curves, and overlays of the best checkpoint)
    assert!(run.join("plots/loss.png").is_file() && run.join("plots/validation.png").is_file());
    std::fs::remove_dir_all(run.join("plots")).unwrap();
    // the report draws its overlays from the run's drawn test split (the folder has no lists)
    let o = semiseg(&["report", "--run", run.to_str().unwrap(), "--checkpoint", "last", "--overlays", "2"]);
    assert!(o.status.success(), "{}", text(&o));
    let overlays = std::fs::read_dir(run.join("plots")).unwrap().filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("overlay_")).count();
    assert_eq!(overlays, 2);
    // each overlay carries a legend strip under the (enlarged) image
    let first = std::fs::read_dir(run.join("plots")).unwrap().map(|e| e.unwrap().path()).find(|p| p.file_name().unwrap().to_string_lossy().starts_with("overlay_")).unwrap();
    let (w, h) = image::open(&first).unwrap().to_rgb8().dimensions();
    assert_eq!((w, h), (256, 256 + 28), "{}", first.display());
}

#[test]
fn clcc_config_mismatches_are_named() {
    let o = semiseg(&["train", "--set", "method.name=clcc"]);
    assert!(!o.status.success() && text(&o).contains("model.name"), "{}", text(&o));
    let o = semiseg(&["train", "--set", "model.name=projunet", "--set", "model.classes=2", "--set", "method.name=clcc", "--set", "data.patch=[96,96]"]);
    assert!(!o.status.success() && text(&o).contains("data.patch"), "{}", text(&o));
}

#[test]
fn mgcc_trains_with_extra_unlabeled_images() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    dataset(&data);
    let config = d.path().join("mgcc.toml");
    std::fs::write(
        &config,
        format!(
            "name = \"tiny-mgcc\"\n[data]\nroot = \"{}\"\nunlabeled_dirs = [\"{}\"]\nlabeled = 4\nlabeled_unit = \"cases\"\nchannels = 3\nnormalize = \"imagenet_div255\"\npatch = [32, 32]\naugment = \"flip_rot90\"\n\
             [model]\nname = \"mgcc\"\nclasses = 2\ndim_mult = 1\n[method]\nname = \"mgcc\"\nconsistency = 7.0\n[train]\niterations = 2\nbatch = 4\nlabeled_batch = 2\nval_every = 2\n[eval]\nselect_by = \"jaccard\"\n",
            data.display(),
            data.join("new").display()
        ),
    )
    .unwrap();
    let run = d.path().join("run");
    let o = semiseg(&["train", "--config", config.to_str().unwrap(), "--out", run.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    // 10 training cases, 4 labeled: 6 unlabeled + the 1 extra image
    assert!(text(&o).contains("4 labeled and 7 unlabeled"), "{}", text(&o));
    let log = std::fs::read_to_string(run.join("train.jsonl")).unwrap();
    assert!(log.contains("\"consistency_weight\""), "{log}");
    // the best checkpoint is chosen by validation Jaccard, as MGCC does
    assert!(log.contains("\"val_jaccard\"") && text(&o).contains("validation Jaccard"), "{log}");
    assert!(run.join("eval/test_best/summary.json").is_file());
    // the MGCC papers' formulas, kept apart from the run's own (medpy) scores
    let o = semiseg(&["eval", "--run", run.to_str().unwrap(), "--convention", "smoothed"]);
    assert!(o.status.success(), "{}", text(&o));
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("eval/test_best_smoothed/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["convention"], "smoothed");
    let o = semiseg(&["eval", "--run", run.to_str().unwrap(), "--convention", "dice"]);
    assert!(!o.status.success() && text(&o).contains("dice"), "{}", text(&o));
}

#[test]
fn validation_waits_for_val_start() {
    // MC-Net+'s and FBA-Net's scripts validate every 200 iterations from 800 on
    let d = tempfile::tempdir().unwrap();
    dataset(&d.path().join("data"));
    let config = d.path().join("tiny.toml");
    tiny_config(&config, "root = \"data\"\nlabeled = 4\npatch = [16, 16]\n", "supervised", "iterations = 4\nbatch = 2\nlabeled_batch = 2\nval_every = 1\nval_start = 3\n");
    let run = d.path().join("run");
    let o = semiseg_in(d.path(), &["train", "--config", config.to_str().unwrap(), "--out", run.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let log = std::fs::read_to_string(run.join("train.jsonl")).unwrap();
    let validated: Vec<u64> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r.get("val_dice").is_some())
        .map(|r| r["iter"].as_u64().unwrap())
        .collect();
    assert_eq!(validated, vec![3, 4], "{log}");
}

#[test]
fn seeds_train_each_seed_then_summarize_and_skip_finished_ones() {
    let d = tempfile::tempdir().unwrap();
    dataset(&d.path().join("data"));
    let config = d.path().join("tiny.toml");
    tiny_config(&config, "root = \"data\"\nlabeled = 4\npatch = [32, 32]\n", "supervised", "iterations = 2\nbatch = 2\nlabeled_batch = 2\nval_every = 2\n");
    let out = d.path().join("sweep");
    let args = ["train", "--config", config.to_str().unwrap(), "--seeds", "5,6", "--out", out.to_str().unwrap()];
    let o = semiseg_in(d.path(), &args);
    assert!(o.status.success(), "{}", text(&o));
    for seed in [5, 6] {
        let saved = std::fs::read_to_string(out.join(format!("seed-{seed}/config.toml"))).unwrap();
        assert!(saved.contains(&format!("seed = {seed}")), "{saved}");
    }
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("seeds.json")).unwrap()).unwrap();
    let dice = &summary["best"]["dice"];
    let runs: Vec<f64> = dice["runs"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(runs.len(), 2);
    let mean = (runs[0] + runs[1]) / 2.0;
    assert!((dice["mean"].as_f64().unwrap() - mean).abs() < 1e-12);
    let std = ((runs[0] - mean).powi(2) + (runs[1] - mean).powi(2)).sqrt(); // n − 1 = 1
    assert!((dice["std"].as_f64().unwrap() - std).abs() < 1e-12, "sample std: {summary}");
    assert!(text(&o).contains(&format!("semiseg compare {} OTHER", out.display())), "the compare line: {}", text(&o));
    // finished seeds are not trained again
    let o = semiseg_in(d.path(), &args);
    assert!(o.status.success() && text(&o).contains("0 seed(s) to train (2 finished)"), "{}", text(&o));
    // a seeds folder is a set of runs for compare, as is a list of run directories
    let (sweep, seed5) = (out.to_str().unwrap(), out.join("seed-5"));
    let o = semiseg(&["compare", sweep, seed5.to_str().unwrap()]);
    assert!(o.status.success() && text(&o).contains("A = 2 run(s), B = 1 run(s)"), "{}", text(&o));
    let o = semiseg(&["compare", &format!("{},{}", seed5.display(), out.join("seed-6").display()), sweep]);
    assert!(o.status.success() && text(&o).contains("A = 2 run(s), B = 2 run(s)") && text(&o).contains("A − B: +0.0000"), "{}", text(&o));
    let o = semiseg(&["compare", d.path().join("data").to_str().unwrap(), sweep]);
    assert!(!o.status.success() && text(&o).contains("neither a run"), "{}", text(&o));
}

/// A BUSI-like paired folder: ids sort by class (`benign_*`, then `malignant_*`, `normal_*`),
/// no split lists.
fn class_sorted_dataset(root: &Path) {
    for d in ["images", "masks"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    for (class, n) in [("benign", 10u32), ("malignant", 6), ("normal", 6)] {
        for i in 0..n {
            let id = format!("{class}_{i:03}");
            let r = 4 + i % 4;
            let inside = |x: u32, y: u32| (x as i32 - 16).pow(2) + (y as i32 - 16).pow(2) <= (r * r) as i32;
            GrayImage::from_fn(32, 32, |x, y| Luma([if inside(x, y) { 200 } else { 40 + ((x * 3 + y + i) % 30) as u8 }])).save(root.join(format!("images/{id}.png"))).unwrap();
            GrayImage::from_fn(32, 32, |x, y| Luma([if inside(x, y) && class != "normal" { 255 } else { 0 }])).save(root.join(format!("masks/{id}.png"))).unwrap();
        }
    }
}

#[test]
fn a_random_split_draws_its_labeled_set_at_random_and_one_class_draws_are_flagged() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("busi");
    class_sorted_dataset(&data);
    let o = semiseg(&["data", "inspect", data.to_str().unwrap()]);
    assert!(o.status.success() && text(&o).contains("class by class (benign 10, malignant 6, normal 6)"), "inspect warns: {}", text(&o));
    let config = d.path().join("busi.toml");
    tiny_config(&config, "root = \"busi\"\nrandom_split = [0.6, 0.2, 0.2]\nlabeled = 4\npatch = [32, 32]\n", "supervised", "iterations = 1\nbatch = 2\nlabeled_batch = 2\nval_every = 0\n");
    let labeled_classes = |run: &Path| {
        let ids = std::fs::read_to_string(run.join("splits/labeled.txt")).unwrap();
        let mut classes: Vec<String> = ids.lines().map(|id| id.split('_').next().unwrap().to_string()).collect();
        classes.dedup();
        classes.sort();
        classes.dedup();
        classes
    };
    // the default ("auto") shuffles a drawn split's train list: several classes, no warning
    let run = d.path().join("auto");
    let o = semiseg_in(d.path(), &["train", "--config", config.to_str().unwrap(), "--out", run.to_str().unwrap()]);
    assert!(o.status.success() && text(&o).contains("labeled draw: shuffled") && !text(&o).contains("warning: all"), "{}", text(&o));
    assert!(labeled_classes(&run).len() > 1, "{:?}", labeled_classes(&run));
    let saved = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(saved.contains("split_seed = 42"), "the draw's seed is on record: {saved}");
    // list order on that split takes benign only, and train says so
    let run = d.path().join("first");
    let o = semiseg_in(d.path(), &["train", "--config", config.to_str().unwrap(), "--set", "data.labeled_draw=\"first\"", "--out", run.to_str().unwrap()]);
    assert_eq!(labeled_classes(&run), ["benign"], "{}", std::fs::read_to_string(run.join("splits/train.list")).unwrap());
    assert!(o.status.success() && text(&o).contains("warning: all 4 labeled cases are 'benign'"), "{}", text(&o));
}

#[test]
fn a_live_run_directory_has_one_writer_and_a_killed_one_leaves_no_lock() {
    let d = tempfile::tempdir().unwrap();
    dataset(&d.path().join("data"));
    let config = d.path().join("long.toml");
    tiny_config(&config, "root = \"data\"\nlabeled = 4\npatch = [32, 32]\n", "supervised", "iterations = 1000000\nbatch = 2\nlabeled_batch = 2\nval_every = 0\nsave_every = 2\n");
    let run = d.path().join("run");
    let (c, r) = (config.to_str().unwrap(), run.to_str().unwrap());
    let spawn = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_semiseg")).current_dir(d.path()).args(args).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let start = std::time::Instant::now();
        while !done() {
            assert!(start.elapsed().as_secs() < 120, "timed out waiting for {what}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let mut first = spawn(&["train", "--config", c, "--out", r]);
    wait_for("a checkpoint", &|| run.join("checkpoints/last.ckpt").is_file());
    let holder = format!("pid {}", first.id());
    // a new run and a resumption into the live directory are both refused, naming the holder
    for args in [vec!["train", "--config", c, "--out", r], vec!["train", "--resume", r]] {
        let o = semiseg_in(d.path(), &args);
        assert!(!o.status.success() && text(&o).contains("in use by another training") && text(&o).contains(&holder), "{args:?}: {}", text(&o));
    }
    // kill -9: the kernel releases the lock with the process, so resuming works at once
    first.kill().unwrap();
    first.wait().unwrap();
    let mut resumed = spawn(&["train", "--resume", r]);
    let note = semiseg_train::run_lock::RunLock::path_in(&run);
    wait_for("the resumption to hold the lock", &|| std::fs::read_to_string(&note).is_ok_and(|t| t.contains(&format!("pid {}", resumed.id()))));
    resumed.kill().unwrap();
    resumed.wait().unwrap();
    semiseg_train::run_lock::RunLock::acquire(&run).expect("no stale lock after kill -9");
}
