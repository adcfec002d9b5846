//! semiseg-metrics against medpy 0.5.2 and MONAI 1.6.1 on the fixtures made by
//! `tests/fixtures/reference/gen.py` (random 2-D/3-D shapes, anisotropic spacing, empty
//! prediction, empty truth, both empty, single voxels, masks on the array border, multi-class
//! maps), and against that script's transcription of the CMU-Net / MGCC formulas (`smoothed`).
//!
//! medpy computes in float64 and must agree to 1e-9 relative; MONAI returns float32, so the
//! bound there is 1e-6 relative (1e-7 absolute near zero).

use ndarray::ArrayD;
use ndarray_npy::read_npy;
use semiseg_metrics::{class_metrics, Convention};
use serde_json::Value;
use std::path::PathBuf;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference")
}

fn number(v: &Value) -> f64 {
    match v {
        Value::String(s) if s == "nan" => f64::NAN,
        Value::String(s) if s == "inf" => f64::INFINITY,
        Value::Number(n) => n.as_f64().unwrap(),
        other => panic!("unexpected value {other}"),
    }
}

fn close(got: f64, want: f64, rel: f64) -> bool {
    if want.is_nan() || got.is_nan() {
        return want.is_nan() && got.is_nan();
    }
    if want.is_infinite() || got.is_infinite() {
        return want == got;
    }
    (got - want).abs() <= rel * want.abs().max(0.1)
}

#[test]
fn agrees_with_medpy_and_monai() {
    let dir = fixture_dir();
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in expected["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let pred: ArrayD<u8> = read_npy(dir.join(format!("{name}_pred.npy"))).unwrap();
        let gt: ArrayD<u8> = read_npy(dir.join(format!("{name}_gt.npy"))).unwrap();
        let spacing: Vec<f64> = case["spacing"].as_array().unwrap().iter().map(number).collect();
        let tol = number(&case["nsd_tolerance"]);
        let classes: Vec<u8> = case["classes"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap() as u8).collect();
        for (conv, key, rel) in [(Convention::Medpy, "medpy", 1e-9), (Convention::Monai, "monai", 1e-6), (Convention::Smoothed, "smoothed", 1e-9)] {
            let got = class_metrics(pred.view(), gt.view(), &classes, &spacing, conv, tol).unwrap();
            for cm in got {
                let want = &case[key][cm.class.to_string()];
                let values = semiseg_metrics::report::values(&cm);
                for (name_m, g) in semiseg_metrics::report::METRIC_NAMES.iter().zip(values) {
                    // MONAI's NSD is float32 too; medpy's block carries MONAI's NSD.
                    let r = if *name_m == "nsd" { 1e-6 } else { rel };
                    let w = number(&want[*name_m]);
                    checked += 1;
                    if !close(g, w, r) {
                        failures.push(format!("{name} class {} {key} {name_m}: got {g}, want {w}", cm.class));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {checked} values disagree:\n{}", failures.len(), failures.join("\n"));
    assert!(checked >= 495, "only {checked} values checked");
}
