//! `semiseg synth train` and `sample` end to end on a tiny synthetic image folder: both stages
//! train and checkpoint, an interrupted stage is not needed to resume a finished one, DDIM and
//! DDPM both write images, sampling again keeps what is there, bad requests are named, and
//! `--data` alone trains with medfusion's defaults.

use image::{GrayImage, Luma};
use std::process::{Command, Output};

fn semiseg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_semiseg")).args(args).output().expect("binary runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn synth_trains_both_stages_and_samples() {
    let d = tempfile::tempdir().unwrap();
    let images = d.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    for (i, class) in ["benign", "benign", "malignant", "normal"].iter().enumerate() {
        GrayImage::from_fn(20, 24, |x, y| Luma([((x * 9 + y * 5 + i as u32 * 40) % 256) as u8])).save(images.join(format!("{class}_{i}.png"))).unwrap();
    }
    let config = d.path().join("synth.toml");
    std::fs::write(
        &config,
        format!(
            "seed = 3\n[data]\nroot = \"{}\"\nsplit = \"unlabeled\"\nsize = 16\nchannels = 3\n[vae]\nwidths = [8, 8]\niterations = 3\nbatch = 2\n\
             [ldm]\nwidths = [8, 8]\ntime_channels = 16\nsteps = 10\nclass_conditional = true\niterations = 3\nbatch = 2\n[sample]\nddim_steps = 4\nbatch = 2\n",
            images.display()
        ),
    )
    .unwrap();
    let run = d.path().join("run");
    let r = run.to_str().unwrap();
    let o = semiseg(&["synth", "train", "--config", config.to_str().unwrap(), "--out", r]);
    assert!(o.status.success(), "{}", text(&o));
    for f in ["synth.toml", "synth.jsonl", "checkpoints/vae.ckpt", "checkpoints/ldm.ckpt"] {
        assert!(run.join(f).is_file(), "missing {f}");
    }
    assert_eq!(std::fs::read_to_string(run.join("classes.txt")).unwrap(), "benign\nmalignant\nnormal\n");
    // A second train into the same folder is refused; resuming a finished run does nothing new.
    let o = semiseg(&["synth", "train", "--config", config.to_str().unwrap(), "--out", r]);
    assert!(!o.status.success() && text(&o).contains("--resume"), "{}", text(&o));
    let o = semiseg(&["synth", "train", "--resume", "--out", r]);
    assert!(o.status.success() && text(&o).contains("vae: 3 iterations"), "{}", text(&o));

    let out = d.path().join("samples");
    let o = semiseg(&["synth", "sample", "--run", r, "--n", "3", "--out", out.to_str().unwrap(), "--class", "malignant"]);
    assert!(o.status.success(), "{}", text(&o));
    let first = image::open(out.join("synth_malignant_00000.png")).unwrap();
    assert_eq!((first.width(), first.height()), (16, 16));
    assert!(out.join("synth_malignant_00002.png").is_file());
    let o = semiseg(&["synth", "sample", "--run", r, "--n", "3", "--out", out.to_str().unwrap(), "--class", "malignant"]);
    assert!(o.status.success() && text(&o).contains("0 new images"), "{}", text(&o));
    let o = semiseg(&["synth", "sample", "--run", r, "--n", "2", "--out", out.to_str().unwrap(), "--set", "sample.sampler=\"ddpm\""]);
    assert!(o.status.success() && out.join("synth_00001.png").is_file(), "{}", text(&o));

    let o = semiseg(&["synth", "sample", "--run", r, "--n", "1", "--out", out.to_str().unwrap(), "--class", "cyst"]);
    assert!(!o.status.success() && text(&o).contains("benign, malignant, normal"), "{}", text(&o));
    let o = semiseg(&["synth", "train", "--config", config.to_str().unwrap(), "--out", d.path().join("x").to_str().unwrap(), "--set", "data.size=10"]);
    assert!(!o.status.success() && text(&o).contains("data.size"), "{}", text(&o));

    // --data alone: medfusion's defaults, here shrunk with --set; neither --data nor --config is refused
    let small = ["--set", "data.size=16", "--set", "data.split=\"unlabeled\"", "--set", "vae.widths=[8, 8]", "--set", "vae.iterations=1", "--set", "vae.batch=2",
                 "--set", "ldm.widths=[8, 8]", "--set", "ldm.time_channels=16", "--set", "ldm.iterations=1", "--set", "ldm.batch=2"];
    let run2 = d.path().join("defaults");
    let o = semiseg(&[&["synth", "train", "--data", images.to_str().unwrap(), "--out", run2.to_str().unwrap()], &small[..]].concat());
    assert!(o.status.success() && run2.join("checkpoints/ldm.ckpt").is_file(), "{}", text(&o));
    let saved = std::fs::read_to_string(run2.join("synth.toml")).unwrap();
    assert!(saved.contains("ddim_steps = 150") && saved.contains("latent_channels = 8"), "{saved}");
    let o = semiseg(&["synth", "train", "--out", d.path().join("y").to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("--data"), "{}", text(&o));
}
