//! The `semiseg` binary end to end on small data made here (and on the shared h5 samples when
//! they are unpacked).

use image::{GrayImage, Luma};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn semiseg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_semiseg")).args(args).output().expect("binary runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn square(path: &Path, lo: u32, hi: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    GrayImage::from_fn(16, 16, |x, y| Luma([if (lo..hi).contains(&x) && (lo..hi).contains(&y) { 255 } else { 0 }])).save(path).unwrap();
}

#[test]
fn metrics_writes_csv_and_summary() {
    let d = tempfile::tempdir().unwrap();
    let (p, g) = (d.path().join("pred"), d.path().join("gt"));
    square(&g.join("a.png"), 4, 10);
    square(&p.join("a_pred.png"), 5, 10);
    square(&g.join("b.png"), 2, 8);
    square(&p.join("b_pred.png"), 2, 8);
    let out = d.path().join("m/per_case.csv");
    let o = semiseg(&["metrics", "--pred", p.to_str().unwrap(), "--gt", g.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let csv = std::fs::read_to_string(&out).unwrap();
    assert!(csv.starts_with("case,class,dice,jaccard,precision,recall,hd95,hd,asd,assd,nsd"), "{csv}");
    assert_eq!(csv.lines().count(), 3);
    let b_row = csv.lines().find(|l| l.starts_with("b,1,")).unwrap();
    assert!(b_row.starts_with("b,1,1,1,1,1,0,0,0,0,1,"), "{b_row}");
    // a: gt 6x6 = 36 px, pred 5x5 = 25 px inside it: Dice = 50/61.
    let a_dice: f64 = csv.lines().find(|l| l.starts_with("a,1,")).unwrap().split(',').nth(2).unwrap().parse().unwrap();
    assert!((a_dice - 50.0 / 61.0).abs() < 1e-12);
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.path().join("m/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["convention"], "medpy");
    assert_eq!(summary["summary"]["cases"], 2);
    assert!(text(&o).contains("dice"));
}

#[test]
fn metrics_names_unmatched_files_and_bad_options() {
    let d = tempfile::tempdir().unwrap();
    let (p, g) = (d.path().join("pred"), d.path().join("gt"));
    square(&g.join("a.png"), 4, 10);
    square(&p.join("a_pred.png"), 5, 10);
    square(&p.join("orphan_pred.png"), 5, 10);
    let o = semiseg(&["metrics", "--pred", p.to_str().unwrap(), "--gt", g.to_str().unwrap(), "--out", d.path().join("x.csv").to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("orphan_pred.png"), "{}", text(&o));
    std::fs::remove_file(p.join("orphan_pred.png")).unwrap();
    let o = semiseg(&["metrics", "--pred", p.to_str().unwrap(), "--gt", g.to_str().unwrap(), "--convention", "nnunet"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("unknown metric convention 'nnunet'"), "{}", text(&o));
    let o = semiseg(&["metrics", "--pred", p.to_str().unwrap(), "--gt", g.to_str().unwrap(), "--spacing", "1,x"]);
    assert!(text(&o).contains("--spacing"), "{}", text(&o));
    let o = semiseg(&["metrics", "--pred", "a", "--gt", "b", "--frobnicate"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("--frobnicate"));
}

#[test]
fn help_says_what_the_tool_is_for() {
    let o = semiseg(&["--help"]);
    assert!(o.status.success(), "{}", text(&o));
    let help = text(&o);
    assert!(help.contains("Semi-supervised medical image segmentation") && help.contains("segment new scans") && help.contains("semiseg train"), "{help}");
}

#[test]
fn inspect_fails_on_problems_and_passes_clean_data() {
    let d = tempfile::tempdir().unwrap();
    square(&d.path().join("images/a.png"), 0, 3);
    square(&d.path().join("masks/a.png"), 4, 10);
    let o = semiseg(&["data", "inspect", d.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("Paired") && text(&o).contains("1 labeled"), "{}", text(&o));
    square(&d.path().join("masks/ghost.png"), 4, 10);
    let json = d.path().join("report.json");
    let o = semiseg(&["data", "inspect", d.path().to_str().unwrap(), "--json", json.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("ghost.png") && text(&o).contains("mask without image"), "{}", text(&o));
    assert!(std::fs::read_to_string(json).unwrap().contains("mask without image"));
}

#[test]
fn convert_folder_to_nifti() {
    let d = tempfile::tempdir().unwrap();
    square(&d.path().join("src/images/a.png"), 0, 3);
    square(&d.path().join("src/masks/a.png"), 4, 10);
    std::fs::write(d.path().join("src/train.list"), "a\n").unwrap();
    let nii = d.path().join("nii");
    let o = semiseg(&["data", "convert", "--input", d.path().join("src").to_str().unwrap(), "--output", nii.to_str().unwrap(), "--to", "nii.gz"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(nii.join("images/a.nii.gz").is_file() && nii.join("labels/a.nii.gz").is_file());
    assert_eq!(std::fs::read_to_string(nii.join("train.list")).unwrap(), "a\n");
    let o = semiseg(&["data", "inspect", nii.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
}

/// A shared dataset unpacked in `.data/<name>` (or `$SEMISEG_DATA/<name>`), recognised by its
/// `marker` file; `None` (with a note) outside CI when it is missing, a failure under CI.
fn shared_dataset(name: &str, marker: &str) -> Option<PathBuf> {
    let root = std::env::var_os("SEMISEG_DATA").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.data"));
    let p = root.join(name);
    if p.join(marker).is_file() {
        Some(p)
    } else if std::env::var_os("CI").is_some() {
        panic!("{name} not unpacked in {}", root.display())
    } else {
        eprintln!("SKIPPED: {name} not unpacked in {}", root.display());
        None
    }
}

fn h5_samples() -> Option<PathBuf> {
    shared_dataset("h5-samples", ".unpacked")
}

#[test]
fn convert_acdc_h5_volume_to_nifti_and_score_it_against_itself() {
    let Some(h5) = h5_samples() else { return };
    let d = tempfile::tempdir().unwrap();
    let src = h5.join("acdc/patient011_frame01.h5");
    let (gt, pred) = (d.path().join("gt/p11.nii.gz"), d.path().join("pred/p11_pred.nii.gz"));
    for out in [&gt, &pred] {
        let o = semiseg(&["data", "convert", "--input", src.to_str().unwrap(), "--output", out.to_str().unwrap(), "--label", "--axes", "slice-first"]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = semiseg(&["metrics", "--pred", d.path().join("pred").to_str().unwrap(), "--gt", d.path().join("gt").to_str().unwrap(), "--out", d.path().join("m.csv").to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let csv = std::fs::read_to_string(d.path().join("m.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "3 classes: RV, Myo, LV\n{csv}");
    assert!(csv.lines().skip(1).all(|l| l.split(',').nth(2) == Some("1")), "{csv}");

    // the h5 itself as ground truth: its SSL4MIS ACDC name turns (Z, H, W) into (H, W, Z)
    std::fs::create_dir_all(d.path().join("gt_h5")).unwrap();
    std::fs::copy(&src, d.path().join("gt_h5/patient011_frame01.h5")).unwrap();
    std::fs::rename(&pred, d.path().join("pred/patient011_frame01.nii.gz")).unwrap();
    let metrics = |axes: &str| semiseg(&["metrics", "--pred", d.path().join("pred").to_str().unwrap(), "--gt", d.path().join("gt_h5").to_str().unwrap(), "--axes", axes, "--out", d.path().join("m2.csv").to_str().unwrap()]);
    let o = metrics("auto");
    assert!(o.status.success(), "{}", text(&o));
    let o = metrics("as-stored");
    assert!(!o.status.success() && text(&o).contains("differs from ground truth"), "{}", text(&o));
}

#[test]
fn convert_volume_dataset_to_png_slices() {
    let Some(h5) = h5_samples() else { return };
    let d = tempfile::tempdir().unwrap();
    let src = h5.join("acdc/patient011_frame01.h5");
    let vol = d.path().join("vol");
    for (what, out) in [("--image", vol.join("images/p11.nii.gz")), ("--label", vol.join("labels/p11.nii.gz"))] {
        let mut args = vec!["data", "convert", "--input", src.to_str().unwrap(), "--output", out.to_str().unwrap(), "--axes", "slice-first"];
        if what == "--label" {
            args.push("--label");
        }
        let o = semiseg(&args);
        assert!(o.status.success(), "{}", text(&o));
    }
    let png = d.path().join("png");
    // ACDC intensities are floats in [0, 1]: PNG would round them away, so it is refused...
    let o = semiseg(&["data", "convert", "--input", vol.to_str().unwrap(), "--output", png.to_str().unwrap(), "--to", "png", "--slices"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("not whole numbers"), "{}", text(&o));
    // ...unless asked to stretch them to 0-255.
    let o = semiseg(&["data", "convert", "--input", vol.to_str().unwrap(), "--output", png.to_str().unwrap(), "--to", "png", "--slices", "--rescale"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read_dir(png.join("labels")).unwrap().count(), 9);
    assert!(png.join("images/p11_slice_8.png").is_file());
    assert_eq!(std::fs::read_to_string(png.join("all.list")).unwrap().lines().count(), 9);
    let o = semiseg(&["data", "inspect", png.to_str().unwrap()]);
    assert!(text(&o).contains("9 cases"), "{}", text(&o));
}

/// A run directory holding only `eval/test_best/per_case.csv` with these (case, class, dice) rows.
fn scored_run(dir: &Path, rows: &[(&str, u8, f64)]) -> PathBuf {
    let eval = dir.join("eval/test_best");
    std::fs::create_dir_all(&eval).unwrap();
    let mut csv = String::from("case,class,dice,jaccard\n");
    for (case, class, dice) in rows {
        csv.push_str(&format!("{case},{class},{dice},0.5\n"));
    }
    std::fs::write(eval.join("per_case.csv"), csv).unwrap();
    dir.to_path_buf()
}

#[test]
fn compare_pairs_cases_across_seeds() {
    let d = tempfile::tempdir().unwrap();
    // A over two seeds: per case (0.9, 0.8) and (0.7, 0.9) -> 0.85, 0.8; two classes in case c
    let a1 = scored_run(&d.path().join("a1"), &[("a", 1, 0.9), ("b", 1, 0.7), ("c", 1, 0.6), ("c", 2, 0.8), ("d", 1, 0.5)]);
    let a2 = scored_run(&d.path().join("a2"), &[("a", 1, 0.8), ("b", 1, 0.9), ("c", 1, 0.7), ("c", 2, 0.7), ("d", 1, 0.6)]);
    let b1 = scored_run(&d.path().join("b1"), &[("a", 1, 0.5), ("b", 1, 0.6), ("c", 1, 0.6), ("c", 2, 0.6), ("d", 1, 0.4)]);
    let out = d.path().join("cmp.json");
    let runs_a = format!("{},{}", a1.display(), a2.display());
    let o = semiseg(&["compare", &runs_a, b1.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    // differences: a 0.35, b 0.2, c 0.7 - 0.6 = 0.1, d 0.15
    let c = &r["comparison"];
    assert_eq!(c["n"], 4);
    assert!((c["mean_difference"].as_f64().unwrap() - 0.2).abs() < 1e-12, "{c}");
    // all four differences positive: W = 0, exact p = 2 / 2^4
    assert_eq!(c["wilcoxon_statistic"].as_f64().unwrap(), 0.0);
    assert!((c["p_value"].as_f64().unwrap() - 0.125).abs() < 1e-12);
    // a set whose runs scored other cases is refused, naming both runs
    let b2 = scored_run(&d.path().join("b2"), &[("a", 1, 0.5), ("x", 1, 0.6)]);
    let runs_b = format!("{},{}", b1.display(), b2.display());
    let o = semiseg(&["compare", &runs_a, &runs_b]);
    assert!(!o.status.success() && text(&o).contains("scored different cases"), "{}", text(&o));
    let o = semiseg(&["compare", &runs_a, b1.to_str().unwrap(), "--metric", "hd96"]);
    assert!(!o.status.success() && text(&o).contains("no column 'hd96'"), "{}", text(&o));
}

#[test]
fn import_a_pytorch_checkpoint_then_predict_a_volume_in_its_geometry() {
    let d = tempfile::tempdir().unwrap();
    let pth = Path::new(env!("CARGO_MANIFEST_DIR")).join("../semiseg-nn/tests/fixtures/pth/caml.pth");
    // the network of the fixture: CAML at width 2 with 8-wide heads, windows of 16³
    let config = d.path().join("caml.toml");
    std::fs::write(
        &config,
        "[data]\nroot = \"unused\"\nval_split = \"\"\npatch = [16, 16, 16]\naugment = \"rot_flip_crop\"\n\
         [model]\nname = \"caml\"\nclasses = 2\nfilters = 2\nfeature_dim = 8\n[method]\nname = \"caml\"\n\
         [train]\nbatch = 4\nlabeled_batch = 2\n[eval]\nstride = [8, 8, 8]\n",
    )
    .unwrap();
    let run = d.path().join("run");
    let o = semiseg(&["import", pth.to_str().unwrap(), "--config", config.to_str().unwrap(), "--out", run.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    // a 20 × 17 × 9 volume (not a multiple of the windows) with a non-identity affine
    let mut geometry = semiseg_data::Geometry::from_spacing([0.625, 0.625, 2.5]);
    geometry.affine[1][3] = 30.0;
    let image = semiseg_data::Image { data: ndarray::Array4::from_shape_fn((1, 20, 17, 9), |(_, i, j, k)| ((i * 3 + j * 5 + k) % 7) as f32 - 3.0), spatial_dims: 3, geometry };
    let input = d.path().join("in/vol.nii.gz");
    std::fs::create_dir_all(input.parent().unwrap()).unwrap();
    semiseg_data::io::write_image(&input, &image).unwrap();
    let out = d.path().join("out");
    let o = semiseg(&["predict", "--run", run.to_str().unwrap(), "--checkpoint", "last", "--input", input.parent().unwrap().to_str().unwrap(), "--output", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let written: Vec<PathBuf> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(written.len(), 1, "{written:?}");
    let label = semiseg_data::io::read_label(&written[0]).unwrap();
    assert_eq!(label.spatial_shape(), [20, 17, 9]);
    assert_eq!(label.geometry.affine, image.geometry.affine);
    // a bad file is refused with its name
    let bad = d.path().join("bad.pth");
    std::fs::write(&bad, b"not a checkpoint").unwrap();
    let o = semiseg(&["import", bad.to_str().unwrap(), "--config", config.to_str().unwrap(), "--out", d.path().join("r2").to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("bad.pth"), "{}", text(&o));
    // and back out: the file semiseg writes is the one it read
    let back = d.path().join("back.pth");
    let o = semiseg(&["export", run.to_str().unwrap(), "--checkpoint", "last", "--out", back.to_str().unwrap()]);
    assert!(o.status.success() && text(&o).contains("strict=True"), "{}", text(&o));
    let (a, b) = (semiseg_nn::pytorch::read_state_dict(&pth, None).unwrap(), semiseg_nn::pytorch::read_state_dict(&back, None).unwrap());
    assert_eq!(a.tensors, b.tensors);
    // a checkpoint that is not there is named
    let o = semiseg(&["export", run.to_str().unwrap(), "--out", d.path().join("x.pth").to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("best.ckpt"), "{}", text(&o));
}

#[test]
fn an_ssl4mis_unet_imports_predicts_a_png_and_exports_its_teacher() {
    let d = tempfile::tempdir().unwrap();
    let pth = Path::new(env!("CARGO_MANIFEST_DIR")).join("../semiseg-nn/tests/fixtures/pth/unet.pth");
    // the fixture's network: SSL4MIS's UNet at a quarter width, 4 classes
    let config = d.path().join("mt.toml");
    std::fs::write(&config, "[data]\nroot = \"unused\"\npatch = [32, 48]\n[model]\nname = \"unet2d\"\nclasses = 4\nwidth = 0.25\n[method]\nname = \"mean_teacher\"\n").unwrap();
    let run = d.path().join("run");
    let o = semiseg(&["import", pth.to_str().unwrap(), "--config", config.to_str().unwrap(), "--out", run.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let input = d.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    image::GrayImage::from_fn(48, 40, |x, y| image::Luma([((x * 5 + y * 3) % 256) as u8])).save(input.join("scan.png")).unwrap();
    let out = d.path().join("out");
    let o = semiseg(&["predict", "--run", run.to_str().unwrap(), "--checkpoint", "last", "--input", input.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
    let teacher = d.path().join("teacher.safetensors");
    let o = semiseg(&["export", run.to_str().unwrap(), "--checkpoint", "last", "--part", "teacher", "--format", "safetensors", "--out", teacher.to_str().unwrap()]);
    assert!(o.status.success() && text(&o).contains("safetensors.torch.load_file"), "{}", text(&o));
    let o = semiseg(&["export", run.to_str().unwrap(), "--checkpoint", "last", "--part", "net2", "--out", d.path().join("x.pth").to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("no 'net2' (has student, optim, teacher"), "{}", text(&o));
}

#[test]
fn a_device_that_is_not_built_or_not_known_is_refused_with_the_reason() {
    // cuda is a cargo feature this test build does not have
    if !cfg!(feature = "cuda") {
        let o = semiseg(&["bench", "--model", "unet2d", "--device", "cuda:0", "--batch", "1", "--size", "32"]);
        assert!(!o.status.success() && text(&o).contains("--features cuda"), "{}", text(&o));
    }
    let o = semiseg(&["train", "--device", "gpu", "--set", "train.iterations=1"]);
    assert!(!o.status.success() && text(&o).contains("train.device") && text(&o).contains("unknown device \"gpu\""), "{}", text(&o));
    let o = semiseg(&["bench", "--model", "unet2d", "--device", "cuda:0,1", "--batch", "1", "--size", "32"]);
    assert!(!o.status.success() && text(&o).contains("several GPUs"), "{}", text(&o));
}

/// `doctor` on the CPU checks the CPU against itself (the same kernels on both sides: every gap
/// 0) and prints what it prints for a GPU; a network it does not know, or a size of the wrong
/// rank, is refused. On lavapipe the wgpu tests run the same checks (tests/wgpu_backend.rs).
#[test]
fn doctor_reports_every_gap_and_refuses_what_it_does_not_know() {
    let o = semiseg(&["doctor", "--device", "cpu", "--model", "unet2d,vnet", "--no-warmup"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    for expected in ["unet2d (batch 2, 64x64), cpu vs cpu:", "vnet (batch 2, 32x32x32)", "relative gap 0.0e0", "running statistics of", "peak resident", "ok", "cpu: all 2 networks train like the CPU"] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    let o = semiseg(&["doctor", "--device", "cpu", "--model", "resnet"]);
    assert!(!o.status.success() && text(&o).contains("unknown network 'resnet'"), "{}", text(&o));
    let o = semiseg(&["doctor", "--device", "cpu", "--model", "vnet", "--size", "64x64"]);
    assert!(!o.status.success() && text(&o).contains("vnet is 3-D"), "{}", text(&o));
}

#[test]
fn bench_times_each_op_alone() {
    let o = semiseg(&["bench", "--model", "ops", "--iters", "1", "--warmup", "0", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 12, "one row per op");
    for r in &rows {
        assert!(r["infer_ms"].as_f64().unwrap() > 0.0 && r["train_ms"].as_f64().unwrap() > 0.0, "{r}");
    }
    // the names bench/ops_torch.py uses for the same ops
    let torch_ops = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/ops_torch.py")).unwrap();
    for r in &rows {
        let (op, shape) = (r["op"].as_str().unwrap(), r["shape"].as_str().unwrap().replace('x', ", "));
        assert!(torch_ops.contains(&format!("(\"{op}\", ({shape})")), "bench/ops_torch.py lacks {op} at ({shape})");
    }
}

#[test]
fn crop_volumes_around_their_labels_or_by_the_training_prior() {
    let Some(la) = shared_dataset("la", "train.list") else { return };
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    let ids: Vec<String> = std::fs::read_to_string(la.join("train.list")).unwrap().lines().take(4).map(str::to_string).collect();
    for dir in ["images", "labels"] {
        std::fs::create_dir_all(src.join(dir)).unwrap();
        for id in &ids {
            std::fs::copy(la.join(format!("{dir}/{id}.nii")), src.join(format!("{dir}/{id}.nii"))).unwrap();
        }
    }
    std::fs::write(src.join("train.list"), ids[..3].join("\n") + "\n").unwrap();
    std::fs::write(src.join("test.list"), format!("{}\n", ids[3])).unwrap();
    let read = |dir: &Path, what: &str, id: &str| semiseg_data::io::read_label(&dir.join(format!("{what}/{id}.nii"))).unwrap();
    let foreground = |l: &semiseg_data::LabelMap| l.data.iter().filter(|&&v| v != 0).count();

    // leak-free: one box for every case, the test label not read
    let prior = d.path().join("prior");
    let o = semiseg(&["data", "convert", "--input", src.to_str().unwrap(), "--output", prior.to_str().unwrap(), "--to", "nii", "--crop", "training-prior", "--zscore"]);
    assert!(o.status.success(), "{}", text(&o));
    // "training-prior crop: X x Y voxels centred at ..."
    let said = text(&o);
    let words: Vec<&str> = said.split("training-prior crop: ").nth(1).expect("the crop is reported").split_whitespace().collect();
    let size: [usize; 2] = [words[0].parse().unwrap(), words[2].parse().unwrap()];
    assert!(size[0] >= 112 && size[1] >= 112, "{said}");
    for id in &ids {
        let (before, after) = (read(&src, "labels", id).spatial_shape(), read(&prior, "labels", id).spatial_shape());
        assert_eq!(after, [size[0].min(before[0]), size[1].min(before[1]), before[2]], "{id}: the same box everywhere, within the volume");
        let image = semiseg_data::io::read_image(&prior.join(format!("images/{id}.nii"))).unwrap();
        assert_eq!(image.spatial_shape(), after);
    }

    // UA-MT's: around each case's own label, which it keeps whole
    let boxed = d.path().join("boxed");
    let o = semiseg(&["data", "convert", "--input", src.to_str().unwrap(), "--output", boxed.to_str().unwrap(), "--to", "nii", "--crop", "label-box", "--crop-seed", "3"]);
    assert!(o.status.success(), "{}", text(&o));
    for id in &ids {
        assert_eq!(foreground(&read(&boxed, "labels", id)), foreground(&read(&src, "labels", id)), "{id}: the label box cut foreground");
    }
    let o = semiseg(&["data", "convert", "--input", src.join(format!("images/{}.nii", ids[0])).to_str().unwrap(), "--output", d.path().join("x.nii").to_str().unwrap(), "--crop", "label-box"]);
    assert!(!o.status.success() && text(&o).contains("--crop works on a dataset folder"), "{}", text(&o));
}
