//! The 2-D networks to and from the reference code's state dicts: SSL4MIS's `UNet` (supervised,
//! mean teacher, UA-MT, CPS) and `UNet_CCT` (CCT), MGCC's `MGCC`, CLCC's `ProjUnet2D`. A state
//! dict PyTorch wrote (`semiseg-nn/tests/fixtures/pth/gen_2d.py`) becomes a run that predicts
//! PyTorch's probabilities, and exporting that run gives the file back key for key; every
//! network part (a teacher, CPS's second network) can be exported by name; CLCC's unused
//! `proj_center` is written so that PyTorch loads the file strictly, and a projection head that
//! no `ProjUnet2D` has is refused.

mod common;

use burn::prelude::*;
use burn::tensor::activation::softmax;
use common::npy_tensor;
use semiseg_nn::nets::two_class;
use semiseg_nn::pytorch::read_state_dict;
use semiseg_train::checkpoint;
use semiseg_train::config::Config;
use semiseg_train::export::{state_from_parts, write_state, Layout};
use semiseg_train::import::{import_run, parts_from_pytorch};
use semiseg_train::methods::build;
use semiseg_train::trainer::{load_run, RunDir};
use std::path::{Path, PathBuf};

fn pth_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../semiseg-nn/tests/fixtures/pth")
}

/// A 2-D config of `model` / `method` with `extra` lines in `[model]` (CLCC's patch is a
/// multiple of 64).
fn config(root: &Path, model: &str, method: &str, channels: usize, extra: &str) -> Config {
    let patch = if method == "clcc" { "[64, 64]" } else { "[32, 48]" };
    let toml = format!(
        "name = \"x\"\n[data]\nroot = \"{}\"\nchannels = {channels}\npatch = {patch}\n[model]\nname = \"{model}\"\n{extra}\n[method]\nname = \"{method}\"\n",
        root.display()
    );
    Config::from_toml(&toml, "test", &[]).unwrap()
}

#[test]
fn reference_state_dicts_import_predict_as_pytorch_and_export_back() {
    let fixtures = pth_fixtures();
    let d = tempfile::tempdir().unwrap();
    let device = Device::flex();
    let cases = [
        // file, model, method, channels, [model] lines, input, PyTorch logits, one logit per pixel
        ("unet.pth", "unet2d", "supervised", 1, "classes = 4\nwidth = 0.25", "x2d", "unet_eval", false),
        ("unet.pth", "unet2d", "mean_teacher", 1, "classes = 4\nwidth = 0.25", "x2d", "unet_eval", false),
        ("unet.pth", "unet2d", "cps", 1, "classes = 4\nwidth = 0.25", "x2d", "unet_eval", false),
        ("unet_cct.pth", "unet2d", "cct", 1, "classes = 2\nwidth = 0.25", "x2d", "unet_cct_eval", false),
        ("mgcc.pth", "mgcc", "mgcc", 3, "classes = 2\nwidth = 0.125\ndim_mult = 1", "x2d_rgb", "mgcc_eval", true),
    ];
    for (pth, model, method, channels, extra, input, logits, one_logit) in cases {
        let cfg = config(d.path(), model, method, channels, extra);
        let run = RunDir(d.path().join(format!("{method}-{pth}")));
        import_run(&cfg, &fixtures.join(pth), None, &run, "last").unwrap();
        let loaded = load_run(Some(&run.0), "last", None).unwrap();
        let got = loaded.net.probabilities(npy_tensor(&fixtures, input, &device));
        let want = npy_tensor::<4>(&fixtures, logits, &device);
        let want = if one_logit { two_class(want) } else { softmax(want, 1) };
        let err = (got - want).abs().max().into_scalar::<f32>();
        assert!(err < 1e-4, "{method} from {pth}: probabilities differ from PyTorch's by {err}");

        let (_, parts) = checkpoint::load(&run.checkpoint("last")).unwrap();
        let original = read_state_dict(&fixtures.join(pth), None).unwrap();
        let network_parts: &[&str] = match method {
            "mean_teacher" => &["student", "teacher"],
            "cps" => &["net1", "net2"],
            _ => &["net"],
        };
        for part in network_parts {
            let exported = state_from_parts(&cfg, &parts, Layout::Split, Some(part)).unwrap();
            assert_eq!(exported.floats.tensors, original.tensors, "{method} {part}: export(import({pth})) is the file, key for key");
        }
        let exported = state_from_parts(&cfg, &parts, Layout::Split, None).unwrap();
        let norms = original.tensors.keys().filter(|k| k.ends_with(".running_mean")).count();
        assert_eq!(exported.counters.len(), norms, "{pth}: a num_batches_tracked per BatchNorm");
        let out = d.path().join(format!("{method}-{pth}.out.pth"));
        write_state(&exported, "pth", &out).unwrap();
        assert_eq!(read_state_dict(&out, None).unwrap().tensors, original.tensors, "{method} {pth}: written .pth");
    }
}

#[test]
fn a_file_of_the_other_unet_is_refused_with_both_named() {
    let d = tempfile::tempdir().unwrap();
    let fixtures = pth_fixtures();
    let cct = config(d.path(), "unet2d", "cct", 1, "classes = 4\nwidth = 0.25");
    let e = parts_from_pytorch(&cct, &fixtures.join("unet.pth"), None).unwrap_err();
    assert!(e.contains("unet.pth") && e.contains("a plain UNet") && e.contains("cct"), "{e}");
    let plain = config(d.path(), "unet2d", "mean_teacher", 1, "classes = 2\nwidth = 0.25");
    let e = parts_from_pytorch(&plain, &fixtures.join("unet_cct.pth"), None).unwrap_err();
    assert!(e.contains("unet_cct.pth") && e.contains("UNet_CCT") && e.contains("mean_teacher"), "{e}");
}

#[test]
fn clcc_exports_for_a_strict_load_and_round_trips() {
    let d = tempfile::tempdir().unwrap();
    let device = Device::flex();
    let cfg = config(d.path(), "projunet", "clcc", 3, "classes = 2\nfeature_scale = 4");
    let parts = build(&cfg, &device.clone().autodiff()).save();
    let exported = state_from_parts(&cfg, &parts, Layout::Split, None).unwrap();
    // ProjUnet2D's state dict at feature scale 4: its 3,500,721 parameters, proj_center's among them
    let params: usize = exported.floats.tensors.iter().filter(|(k, _)| !k.contains("running_")).map(|(_, (s, _))| s.iter().product::<usize>()).sum();
    assert_eq!(params, 3_500_721);
    assert_eq!(exported.floats.tensors["proj_center.0.conv2.1.running_var"].1, vec![1.0; 256]);
    assert_eq!(exported.floats.tensors["proj_center.2.weight"].0, vec![128, 256]);
    assert!(exported.counters.contains(&"proj_center.0.conv3.1.num_batches_tracked".to_string()));
    // the exported file imports (proj_center dropped) to the same network, exported again unchanged
    let file = d.path().join("clcc.pth");
    write_state(&exported, "pth", &file).unwrap();
    let run = RunDir(d.path().join("clcc"));
    import_run(&cfg, &file, None, &run, "last").unwrap();
    let (_, again) = checkpoint::load(&run.checkpoint("last")).unwrap();
    assert_eq!(state_from_parts(&cfg, &again, Layout::Split, None).unwrap().floats.tensors, exported.floats.tensors);
    let x = Tensor::<4>::random([1, 3, 64, 64], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
    let before = semiseg_train::methods::inference_net_from(&cfg, &parts).unwrap().probabilities(x.clone());
    let after = load_run(Some(&run.0), "last", None).unwrap().net.probabilities(x);
    assert_eq!(before.into_data(), after.into_data(), "export → import gives the same outputs");
    // a head no ProjUnet2D has is refused, with both widths named
    let narrow = config(d.path(), "projunet", "clcc", 3, "classes = 2\nfeature_scale = 8");
    let parts = build(&narrow, &device.autodiff()).save();
    let e = state_from_parts(&narrow, &parts, Layout::Split, None).unwrap_err();
    assert!(e.contains("8 → 64 → 128") && e.contains("8 → 32 → 64"), "{e}");
}
