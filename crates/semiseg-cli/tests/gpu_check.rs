//! `bench/gpu_check.sh` on a machine without a GPU (as CI is): it must say what it skipped and
//! still run what it can (doctor on the CPU, the bench table's semiseg column at small sizes),
//! and end with its verdict.

use std::process::Command;

#[test]
fn the_gpu_check_runs_what_it_can_and_says_what_it_skipped() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    // a Python without torch stands in where none is installed: the PyTorch column is skipped
    let o = Command::new("bash")
        .arg(format!("{root}/bench/gpu_check.sh"))
        .arg("python3")
        .env("SEMISEG_BIN", env!("CARGO_BIN_EXE_semiseg"))
        .env("QUICK", "1")
        .env("DEVICE", "cuda:0")
        .output()
        .expect("bash runs");
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    if cfg!(feature = "cuda") {
        return; // a CUDA build on a GPU machine runs the real check; nothing to assert here
    }
    assert!(o.status.success(), "{out}");
    for expected in [
        "SKIPPED doctor on cuda:0",
        "cpu: all 8 networks train like the CPU",
        "SKIPPED f16 and bf16: the CPU computes in f32 only",
        "| network | mode | precision | batch, size | PyTorch ms | semiseg ms | ratio |",
        "| vnet | train | f32 | 2, 32x32x32 |",
        "| mgcc | infer | f32 | 2, 64x64 |",
        "a run of the script's plumbing, not a GPU result",
        "all checks passed",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}
