//! The 3-D half end to end on a synthetic NIfTI dataset made here (volumes of sizes that are not
//! multiples of the patch): every V-Net-family method trains, validates and scores whole volumes
//! by sliding windows; a stopped CAML or FBA-Net+ run resumes exactly; a prediction carries the
//! input's affine; validation can be held out of the unlabeled cases; a PyTorch checkpoint of
//! the reference code becomes a run that predicts as PyTorch does.

mod interrupt;

use ndarray::{Array3, Array4};
use semiseg_data::{Geometry, Image, LabelMap};
use semiseg_train::config::Config;
use interrupt::{losses, StopAt, ONE_TRAINING_AT_A_TIME};
use semiseg_train::trainer::{load_run, train, Outcome, Quiet, RunDir};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// A bright ellipsoid (the label) in a noisy volume, its affine oblique-free but scaled and
/// shifted so that a lost geometry shows.
fn case(i: usize) -> (Image, LabelMap) {
    let shape = (20 + i % 3, 18 + i % 2, 17);
    let (cx, cy, cz, r) = (8.0 + (i % 4) as f64, 9.0, 8.0 + (i % 3) as f64, 4.0 + (i % 2) as f64);
    let inside = |x: usize, y: usize, z: usize| (x as f64 - cx).powi(2) + (y as f64 - cy).powi(2) + ((z as f64 - cz) * 1.5).powi(2) <= r * r;
    let label = Array3::from_shape_fn(shape, |(x, y, z)| u8::from(inside(x, y, z)));
    let image = Array4::from_shape_fn((1, shape.0, shape.1, shape.2), |(_, x, y, z)| if inside(x, y, z) { 1.5 } else { -0.5 + ((x * 7 + y * 3 + z * 5 + i) % 11) as f32 * 0.05 });
    let mut geometry = Geometry::from_spacing([0.625, 0.625, 1.25]);
    geometry.affine[0][3] = -12.5;
    geometry.affine[2][3] = 40.0;
    (Image { data: image, spatial_dims: 3, geometry: geometry.clone() }, LabelMap { data: label, spatial_dims: 3, geometry })
}

fn dataset(root: &Path) {
    for dir in ["images", "labels"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    let mut lists = [String::new(), String::new(), String::new()];
    for i in 0..10 {
        let (image, label) = case(i);
        semiseg_data::io::write_image(&root.join(format!("images/v{i:02}.nii.gz")), &image).unwrap();
        semiseg_data::io::write_label(&root.join(format!("labels/v{i:02}.nii.gz")), &label).unwrap();
        lists[if i < 6 { 0 } else if i < 8 { 1 } else { 2 }].push_str(&format!("v{i:02}\n"));
    }
    for (name, text) in ["train", "val", "test"].iter().zip(lists) {
        std::fs::write(root.join(format!("{name}.list")), text).unwrap();
    }
}

fn config(root: &Path, model: &str, method: &str, up_types: &str) -> Config {
    let toml = format!(
        r#"name = "v"
seed = 11
[data]
root = "{}"
labeled = 2
labeled_unit = "cases"
patch = [16, 16, 16]
augment = "rot_flip_crop"
[model]
name = "{model}"
classes = 2
filters = 2
up_types = {up_types}
feature_dim = 8
contrast_dim = 8
[method]
name = "{method}"
consistency = 1.0
rampup = 0
memory_per_class = 16
unlabeled_per_class = 64
[train]
iterations = 4
batch = 4
labeled_batch = 2
lr = 0.01
schedule = "constant"
val_every = 2
checkpoint_every = 0
save_every = 1
[eval]
stride = [8, 8, 8]
window_batch = 2
"#,
        root.display()
    );
    Config::from_toml(&toml, "test", &[]).unwrap()
}

#[test]
fn every_volume_method_trains_and_scores_whole_volumes() {
    let _turn = ONE_TRAINING_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let d = tempfile::tempdir().unwrap();
    dataset(&d.path().join("data"));
    let cases = [
        ("vnet", "supervised", "[0]"),
        ("vnet", "mean_teacher", "[0]"),
        ("vnet", "ua_mt", "[0]"),
        ("vnet", "mcnet", "[0, 1, 2]"),
        ("caml", "caml", "[0]"),
        ("fbanet", "fbanet", "[0]"),
        ("fbanet", "fbanet", "[0, 1, 2]"),
    ];
    for (i, (model, method, up)) in cases.into_iter().enumerate() {
        let cfg = config(&d.path().join("data"), model, method, up);
        let run = RunDir(d.path().join(format!("run{i}")));
        let out = train(&cfg, &run, false, &AtomicBool::new(false), &mut Quiet).unwrap_or_else(|e| panic!("{method} ({model} {up}): {e}"));
        let Outcome::Finished { test_dice_last: Some(last), test_dice_best: Some(best) } = out else { panic!("{method}: {out:?}") };
        assert!((0.0..=1.0).contains(&last) && (0.0..=1.0).contains(&best), "{method}: test Dice {last} / {best}");
        let csv = std::fs::read_to_string(run.eval("test_last").join("per_case.csv")).unwrap();
        assert_eq!(csv.lines().filter(|l| l.starts_with("v0")).count(), 2, "{method}: both test volumes scored per case:\n{csv}");
        let log = std::fs::read_to_string(run.log()).unwrap();
        let terms = semiseg_train::methods::terms_of(method);
        let last_line: serde_json::Value = serde_json::from_str(log.lines().rev().find(|l| l.contains("\"terms\"")).unwrap()).unwrap();
        for term in terms {
            if method == "fbanet" && up == "[0]" && term == "consistency" {
                continue; // one decoder: FBA-Net has no consistency
            }
            let v = last_line["terms"][term].as_f64().unwrap_or_else(|| panic!("{method}: no term {term} in {last_line}"));
            assert!(v.is_finite(), "{method}: {term} = {v}");
        }
    }
}

#[test]
fn stopped_volume_runs_resume_exactly() {
    let _turn = ONE_TRAINING_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let d = tempfile::tempdir().unwrap();
    dataset(&d.path().join("data"));
    // CAML's memory bank travels in the checkpoint; FBA-Net+ has three decoders and heads
    for (model, method, up) in [("caml", "caml", "[0]"), ("fbanet", "fbanet", "[0, 1, 2]")] {
        let cfg = config(&d.path().join("data"), model, method, up);
        let whole = RunDir(d.path().join(format!("{method}-whole")));
        train(&cfg, &whole, false, &AtomicBool::new(false), &mut Quiet).unwrap();
        let split = RunDir(d.path().join(format!("{method}-split")));
        let stop = Arc::new(AtomicBool::new(false));
        assert_eq!(train(&cfg, &split, false, &stop, &mut StopAt(3, stop.clone())).unwrap(), Outcome::Interrupted(3));
        train(&cfg, &split, true, &AtomicBool::new(false), &mut Quiet).unwrap();
        assert_eq!(losses(&whole), losses(&split), "{method}: logged losses differ after the resume");
    }
}

#[test]
fn a_predicted_volume_keeps_the_input_geometry() {
    let _turn = ONE_TRAINING_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let d = tempfile::tempdir().unwrap();
    dataset(&d.path().join("data"));
    let mut cfg = config(&d.path().join("data"), "vnet", "supervised", "[0]");
    cfg.train.iterations = 2;
    cfg.eval.blend = "gaussian".into();
    let run = RunDir(d.path().join("run"));
    train(&cfg, &run, false, &AtomicBool::new(false), &mut Quiet).unwrap();
    let loaded = load_run(Some(&run.0), "last", None).unwrap();
    assert!(loaded.net.is_volumetric());
    let input = d.path().join("data/images/v09.nii.gz");
    let image = semiseg_data::io::read_image(&input).unwrap();
    let (label, probs) = semiseg_train::infer::predict(&loaded.net, &image, &loaded.cfg, &semiseg_nn::burn::prelude::Device::flex()).unwrap();
    let [h, w, z] = image.spatial_shape();
    assert_eq!(probs.shape(), &[2, h, w, z], "probabilities at the input's size (20 × 19 × 17: no multiple of the patch)");
    assert_eq!(label.spatial_shape(), image.spatial_shape());
    let out = d.path().join("pred.nii.gz");
    semiseg_data::io::write_label(&out, &label).unwrap();
    let back = semiseg_data::io::read_label(&out).unwrap();
    assert_eq!(back.geometry.affine, image.geometry.affine, "the written prediction carries the input's affine");
    assert_eq!(back.geometry.spacing, [0.625, 0.625, 1.25]);
    let voxels = h * w * z;
    let sums: Vec<f32> = (0..voxels).map(|i| probs.iter().skip(i).step_by(voxels).sum()).collect();
    assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-4), "class probabilities sum to 1 per voxel");
}

#[test]
fn validation_can_be_held_out_of_the_unlabeled_cases() {
    let d = tempfile::tempdir().unwrap();
    dataset(&d.path().join("data"));
    let mut cfg = config(&d.path().join("data"), "vnet", "mcnet", "[0, 1]");
    cfg.data.val_holdout = 2;
    let e = cfg.check().unwrap_err().to_string();
    assert!(e.contains("data.val_holdout") && e.contains("val_split"), "{e}");
    cfg.data.val_split = String::new();
    cfg.check().unwrap();
    let data = semiseg_train::trainer::load_data(&cfg).unwrap();
    // 6 training volumes: the first 2 labeled, 2 of the other 4 held out, 2 left unlabeled
    assert_eq!(data.samples.counts(), (2, 2));
    let val: Vec<&str> = data.val.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(val.len(), 2);
    assert!(val.iter().all(|id| !data.labeled_ids.iter().any(|l| l == id) && ["v02", "v03", "v04", "v05"].contains(id)), "{val:?}");
    assert_eq!(data.splits["val_holdout"].len(), 2, "the held-out cases are on record");
}

#[test]
fn a_pytorch_checkpoint_becomes_a_run_that_predicts_like_pytorch() {
    use semiseg_nn::burn::prelude::*;
    use semiseg_nn::burn::tensor::activation::softmax;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../semiseg-nn/tests/fixtures/pth");
    let npy = |name: &str| -> Tensor<5> {
        let a: ndarray::ArrayD<f32> = ndarray_npy::read_npy(fixtures.join(format!("{name}.npy"))).unwrap();
        let shape: [usize; 5] = a.shape().try_into().unwrap();
        Tensor::from_data(semiseg_nn::burn::tensor::TensorData::new(a.iter().copied().collect::<Vec<_>>(), shape), &Device::flex())
    };
    let d = tempfile::tempdir().unwrap();
    for (model, up, pth, logits) in [("caml", "[0]", "caml.pth", "caml_eval_v"), ("fbanet", "[0, 1, 2]", "fbanet_plus.pth", "fba_eval_out0")] {
        let cfg = config(d.path(), model, model, up);
        let run = RunDir(d.path().join(model));
        semiseg_train::import::import_run(&cfg, &fixtures.join(pth), None, &run, "last").unwrap();
        let loaded = load_run(Some(&run.0), "last", None).unwrap();
        let got = loaded.net.volume_probabilities(npy("x"));
        let want = softmax(npy(logits), 1);
        let err = (got - want).abs().max().into_scalar::<f32>();
        assert!(err < 1e-4, "{model}: probabilities differ from PyTorch's by {err}");
    }
    // a state dict of another network is refused, naming the file and the first key not found
    let mut cfg = config(d.path(), "caml", "caml", "[0]");
    cfg.model.name = "unet2d".into();
    let e = semiseg_train::import::import_run(&cfg, &fixtures.join("caml.pth"), None, &RunDir(d.path().join("x")), "last").unwrap_err();
    assert!(e.contains("caml.pth") && e.contains("no tensor 'encoder.in_conv.conv_conv.0.weight'"), "{e}");
}

#[test]
fn an_imported_run_exports_the_state_dict_it_came_from() {
    use semiseg_nn::pytorch::read_state_dict;
    use semiseg_train::export::{state_from_parts, write_state, Layout};
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../semiseg-nn/tests/fixtures/pth");
    let d = tempfile::tempdir().unwrap();
    let cases = [
        ("caml", "caml", "[0]", "caml.pth", Layout::Split),
        ("fbanet", "fbanet", "[0, 1, 2]", "fbanet_plus.pth", Layout::Split),
        ("fbanet", "fbanet", "[0]", "fbanet.pth", Layout::Split),
        ("vnet", "mcnet", "[0, 1, 2]", "mcnet_plus.pth", Layout::Split),
        ("vnet", "supervised", "[0]", "vnet_uamt.pth", Layout::Flat),
    ];
    for (model, method, up, pth, layout) in cases {
        let cfg = config(d.path(), model, method, up);
        let run = RunDir(d.path().join(pth));
        semiseg_train::import::import_run(&cfg, &fixtures.join(pth), None, &run, "last").unwrap();
        let (_, parts) = semiseg_train::checkpoint::load(&run.checkpoint("last")).unwrap();
        let exported = state_from_parts(&cfg, &parts, layout, None).unwrap();
        let original = read_state_dict(&fixtures.join(pth), None).unwrap();
        assert_eq!(exported.floats.tensors, original.tensors, "{pth}: export(import(file)) is the file's float tensors, key for key");
        let norms = original.tensors.keys().filter(|k| k.ends_with(".running_mean")).count();
        assert_eq!(exported.counters.len(), norms, "{pth}: a num_batches_tracked per BatchNorm");
        // the written files read back the same
        let out = d.path().join(format!("{pth}.out.pth"));
        write_state(&exported, "pth", &out).unwrap();
        assert_eq!(read_state_dict(&out, None).unwrap().tensors, original.tensors, "{pth}: written .pth");
        let st = d.path().join(format!("{pth}.safetensors"));
        write_state(&exported, "safetensors", &st).unwrap();
        let bytes = std::fs::read(&st).unwrap();
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(file.len(), original.tensors.len() + norms, "{pth}: every tensor in the .safetensors");
        for (key, (shape, values)) in &original.tensors {
            let t = file.tensor(key).unwrap();
            assert_eq!(t.shape(), shape.as_slice(), "{pth}: {key}");
            let got: Vec<f32> = t.data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
            assert_eq!(&got, values, "{pth}: {key}");
        }
    }
    // no half-written file is left behind, and other networks are refused by name
    assert!(std::fs::read_dir(d.path()).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".partial")));
    let mut cfg = config(d.path(), "vnet", "mcnet", "[0, 1, 2]");
    let (_, parts) = semiseg_train::checkpoint::load(&RunDir(d.path().join("mcnet_plus.pth")).checkpoint("last")).unwrap();
    let e = state_from_parts(&cfg, &parts, Layout::Flat, None).unwrap_err();
    assert!(e.contains("one decoder"), "{e}");
    cfg.model.name = "unet2d".into();
    let e = state_from_parts(&cfg, &parts, Layout::Split, None).unwrap_err();
    assert!(e.starts_with("net: "), "a checkpoint of another network names the part it could not read: {e}");
    cfg.model.name = "resnet".into();
    assert!(state_from_parts(&cfg, &parts, Layout::Split, None).unwrap_err().contains("no reference key names"));
    assert!(state_from_parts(&cfg, &parts, Layout::Split, Some("teacher")).unwrap_err().contains("has no 'teacher'"));
}
