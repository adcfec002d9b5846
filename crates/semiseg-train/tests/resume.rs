//! A run stopped and resumed ends bit-for-bit where an uninterrupted run ends: same checkpoint
//! bytes, same logged losses. Runs on a synthetic 32×32 dataset made here.

mod circles;
mod interrupt;

use circles::{circles as dataset, config};
use semiseg_train::config::Config;
use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use semiseg_nn::nets::Segmenter;
use interrupt::{losses, StopAt, ONE_TRAINING_AT_A_TIME};
use semiseg_train::trainer::{load_run, train, Outcome, Quiet, RunDir};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Every parameter value of the final network, exactly.
fn weights(run: &RunDir) -> Vec<u32> {
    struct Collect(Vec<u32>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            self.0.extend(p.val().into_data().as_slice::<f32>().unwrap().iter().map(|v| v.to_bits()));
        }
    }
    let Segmenter::UNet(net) = load_run(Some(&run.0), "last", None).unwrap().net else { panic!("these methods train the UNet") };
    let mut c = Collect(Vec::new());
    net.visit(&mut c);
    c.0
}

#[test]
fn stop_and_resume_equals_uninterrupted() {
    let _turn = ONE_TRAINING_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // CPS also with the 3-D script's kaiming / xavier initialisation
    for (method, cps_init) in [("mean_teacher", "default"), ("cps", "default"), ("cps", "kaiming_xavier")] {
        let d = tempfile::tempdir().unwrap();
        dataset(&d.path().join("data"));
        let mut cfg = config(&d.path().join("data"), method);
        cfg.method.cps_init = cps_init.into();
        let whole = RunDir(d.path().join("whole"));
        let never = AtomicBool::new(false);
        assert!(matches!(train(&cfg, &whole, false, &never, &mut Quiet).unwrap(), Outcome::Finished { .. }));

        let split = RunDir(d.path().join("split"));
        let stop = Arc::new(AtomicBool::new(false));
        let out = train(&cfg, &split, false, &stop, &mut StopAt(3, stop.clone())).unwrap();
        assert_eq!(out, Outcome::Interrupted(3));
        let resumed = train(&cfg, &split, true, &AtomicBool::new(false), &mut Quiet).unwrap();
        assert!(matches!(resumed, Outcome::Finished { .. }));

        assert_eq!(losses(&whole), losses(&split), "{method}: logged losses differ");
        // Records carry random parameter ids, so compare what the weights compute instead of bytes.
        let (a, b) = (weights(&whole), weights(&split));
        let differ: Vec<usize> = (0..a.len().min(b.len())).filter(|&i| a[i] != b[i]).collect();
        assert!(a.len() == b.len() && differ.is_empty(), "{method}: {} of {} final weights differ (first at {:?})", differ.len(), a.len(), differ.first());
    }
}

#[test]
fn exploding_loss_stops_before_the_step_and_keeps_finite_weights() {
    let _turn = ONE_TRAINING_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let d = tempfile::tempdir().unwrap();
    dataset(&d.path().join("data"));
    let mut cfg = config(&d.path().join("data"), "supervised");
    cfg.train.batch = 2;
    cfg.train.lr = 1e30; // the first step throws the weights far out, the next loss is not finite
    cfg.train.momentum = 0.0;
    let run = RunDir(d.path().join("run"));
    let e = train(&cfg, &run, false, &AtomicBool::new(false), &mut Quiet).unwrap_err();
    assert!(e.contains("loss is") && e.contains("no step was taken") && e.contains("still holds iteration"), "{e}");
    let w = weights(&run);
    assert!(!w.is_empty() && w.iter().all(|&b| f32::from_bits(b).is_finite()), "last.ckpt holds non-finite weights");
    let (state, _) = semiseg_train::checkpoint::load(&run.checkpoint("last")).unwrap();
    let failed_at: usize = e.split("at iteration ").nth(1).and_then(|s| s.split(' ').next()).unwrap().parse().unwrap();
    assert_eq!(state.iteration + 1, failed_at, "last.ckpt is the iteration before the failure: {e}");
}

#[test]
fn bad_config_names_the_key() {
    let e = Config::from_toml("[train]\nitertions = 5\n", "x.toml", &[]).unwrap_err().to_string();
    assert!(e.contains("itertions"), "{e}");
    let e = Config::from_toml("", "x.toml", &["method.name=fixmatch".into()]).unwrap_err().to_string();
    assert!(e.contains("method.name") && e.contains("fixmatch"), "{e}");
    let e = Config::from_toml("", "x.toml", &["train.labeled_batch=30".into()]).unwrap_err().to_string();
    assert!(e.contains("train.labeled_batch"), "{e}");
    let e = Config::from_toml("", "x.toml", &["method.weights.consistancy=0".into()]).unwrap_err().to_string();
    assert!(e.contains("consistancy"), "{e}");
    let ok = Config::from_toml("", "x.toml", &["train.iterations=10".into(), "method.weights.consistency=0".into()]).unwrap();
    assert_eq!(ok.train.iterations, 10);
    assert_eq!(ok.term_weight("consistency"), 0.0);
}

#[test]
fn half_precision_on_the_cpu_is_refused_before_training() {
    let d = tempfile::tempdir().unwrap();
    dataset(&d.path().join("data"));
    let mut cfg = config(&d.path().join("data"), "supervised");
    cfg.train.precision = "f16".into();
    let run = RunDir(d.path().join("run"));
    let e = train(&cfg, &run, false, &AtomicBool::new(false), &mut Quiet).unwrap_err();
    assert!(e.contains("f16") && e.contains("CPU kernels compute in f32"), "{e}");
    assert!(!run.checkpoint("last").exists(), "nothing was trained");
    let e = Config::from_toml("", "x.toml", &["train.precision=\"f8\"".into()]).unwrap_err().to_string();
    assert!(e.contains("train.precision") && e.contains("f8"), "{e}");
}
