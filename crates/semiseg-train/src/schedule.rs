//! Learning-rate schedules and the consistency ramp-up.

use crate::config::TrainConfig;

/// Learning rate at iteration `t` (0-based, before the step).
///
/// * `poly`: `lr · (1 − (t − lag)/T)^p` (`train.poly_lag`, see there), clamped at 0 past `T`.
/// * `constant`: `lr` (UA-MT lineage).
/// * `step`: `lr · γ^⌊t / every⌋` (UA-MT's `train_LA_meanteacher_certainty_unlabel.py` sets
///   `0.01 · 0.1^(n // 2500)` once `n` steps are done, so step 2,500, 0-based, is the first at 0.001).
/// * `cosine`: linear warm-up over `warmup` iterations, then `lr · ½(1 + cos(π·progress))`.
/// * `cosine_clcc` (CLCC `utils/run.py`): `½·lr·(1 + cos(π(T − W)/(total − W)))`, times `T/W`
///   while `T < W` (so the first step has lr 0); with `lr_epoch = E > 0`, `T = ⌊t/E⌋·E + 7`.
pub fn learning_rate(cfg: &TrainConfig, t: usize) -> f64 {
    let total = cfg.iterations as f64;
    match cfg.schedule.as_str() {
        "constant" => cfg.lr,
        "step" => cfg.lr * cfg.step_gamma.powi(t.checked_div(cfg.step_every).unwrap_or(0) as i32),
        "cosine_clcc" => {
            let t = if cfg.lr_epoch > 0 { (t / cfg.lr_epoch * cfg.lr_epoch + 7) as f64 } else { t as f64 };
            let w = cfg.warmup as f64;
            let lr = 0.5 * cfg.lr * (1.0 + (std::f64::consts::PI * (t - w) / (total - w).max(1.0)).cos());
            if t < w {
                lr * t / w
            } else {
                lr
            }
        }
        "cosine" => {
            if t < cfg.warmup {
                cfg.lr * (t + 1) as f64 / cfg.warmup as f64
            } else {
                let span = (cfg.iterations - cfg.warmup).max(1) as f64;
                let progress = ((t - cfg.warmup) as f64 / span).min(1.0);
                cfg.lr * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
        _ => {
            // SSL4MIS: lr = base·(1 − n/T)^0.9 set after step n, counted before (lag 1) or after
            // (lag 0) the increment.
            let done = t.saturating_sub(cfg.poly_lag) as f64;
            cfg.lr * (1.0 - done / total).max(0.0).powf(cfg.poly_power)
        }
    }
}

/// Sigmoid ramp-up of Laine & Aila (Mean Teacher code): `exp(−5 (1 − clip(c, 0, L)/L)²)`, 1 when
/// `L = 0`.
pub fn sigmoid_rampup(current: f64, length: f64) -> f64 {
    if length == 0.0 {
        return 1.0;
    }
    let phase = 1.0 - current.clamp(0.0, length) / length;
    (-5.0 * phase * phase).exp()
}

/// The consistency weight at iteration `t`: `weight · rampup(t // epoch, length)` (the
/// references' `epoch` is 150; the SSL4MIS 2-D scripts compute it from `iter_num` before
/// incrementing it, the 3-D ones after).
pub fn consistency_weight(weight: f64, length: f64, epoch: usize, t: usize) -> f64 {
    weight * sigmoid_rampup((t / epoch.max(1)) as f64, length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rampup_matches_mean_teacher_code() {
        // ramps.sigmoid_rampup(0, 200) = exp(-5) ; (100, 200) = exp(-1.25) ; (250, 200) = 1
        assert!((sigmoid_rampup(0.0, 200.0) - (-5.0f64).exp()).abs() < 1e-15);
        assert!((sigmoid_rampup(100.0, 200.0) - (-1.25f64).exp()).abs() < 1e-15);
        assert_eq!(sigmoid_rampup(250.0, 200.0), 1.0);
        assert_eq!(sigmoid_rampup(3.0, 0.0), 1.0);
    }

    #[test]
    fn ramp_up_epochs_can_be_shortened_with_the_run() {
        // the references' epochs of 150 iterations: iteration 149 is still epoch 0
        assert_eq!(consistency_weight(1.0, 40.0, 150, 149), sigmoid_rampup(0.0, 40.0));
        assert_eq!(consistency_weight(1.0, 40.0, 150, 150), sigmoid_rampup(1.0, 40.0));
        // 200 iterations in epochs of 2: the full weight at 40 % of the run, as 6,000 of 15,000
        assert_eq!(consistency_weight(0.1, 40.0, 2, 80), 0.1);
        assert!((consistency_weight(0.1, 40.0, 2, 40) - 0.1 * sigmoid_rampup(20.0, 40.0)).abs() < 1e-15);
    }

    #[test]
    fn poly_and_cosine() {
        let mut c = TrainConfig { iterations: 100, lr: 0.01, ..Default::default() };
        assert_eq!(learning_rate(&c, 0), 0.01);
        assert!((learning_rate(&c, 50) - 0.01 * 0.5f64.powf(0.9)).abs() < 1e-15);
        // SSL4MIS mean teacher: the first two steps at the base lr, step 51 as CPS's step 50
        let lagged = TrainConfig { poly_lag: 1, ..c.clone() };
        assert_eq!(learning_rate(&lagged, 1), 0.01);
        assert_eq!(learning_rate(&lagged, 51), learning_rate(&c, 50));
        c.schedule = "cosine".into();
        c.warmup = 10;
        assert!((learning_rate(&c, 0) - 0.001).abs() < 1e-15);
        assert!((learning_rate(&c, 10) - 0.01).abs() < 1e-15);
        assert!(learning_rate(&c, 99) < 1e-4);
        c.schedule = "constant".into();
        assert_eq!(learning_rate(&c, 77), 0.01);
        let step = TrainConfig { schedule: "step".into(), step_every: 2500, ..c.clone() };
        assert_eq!(learning_rate(&step, 2499), 0.01);
        assert!((learning_rate(&step, 2500) - 0.001).abs() < 1e-15);
        assert!((learning_rate(&step, 5000) - 0.0001).abs() < 1e-15);
    }
}
