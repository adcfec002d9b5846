//! Where a step's time goes, op by op: each kernel entry point (the Flex extensions) runs
//! through [`timed`], which adds its wall time to a named total while profiling is on
//! (`semiseg bench --profile`) and costs one atomic load otherwise. What no kernel covers —
//! Burn's own ops: element-wise arithmetic, `cat`, dropout's draws, the losses, the optimizer —
//! is the step's time minus the sum.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ON: AtomicBool = AtomicBool::new(false);
static TOTALS: Mutex<BTreeMap<&'static str, (Duration, u64)>> = Mutex::new(BTreeMap::new());

/// Starts (clearing earlier totals) or stops collecting.
pub fn set_enabled(on: bool) {
    if on {
        TOTALS.lock().expect("profile totals").clear();
    }
    ON.store(on, Ordering::Relaxed);
}

/// Runs `f`, adding its wall time to `name`'s total while profiling is on.
pub fn timed<R>(name: &'static str, f: impl FnOnce() -> R) -> R {
    if !ON.load(Ordering::Relaxed) {
        return f();
    }
    let start = Instant::now();
    let result = f();
    let mut totals = TOTALS.lock().expect("profile totals");
    let entry = totals.entry(name).or_default();
    entry.0 += start.elapsed();
    entry.1 += 1;
    result
}

/// Each op's total time and number of calls since profiling started, largest first.
pub fn totals() -> Vec<(&'static str, Duration, u64)> {
    let mut v: Vec<_> = TOTALS.lock().expect("profile totals").iter().map(|(&k, &(d, n))| (k, d, n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_only_while_on() {
        set_enabled(true);
        timed("profile test op", || std::thread::sleep(Duration::from_millis(5)));
        set_enabled(false);
        timed("profile test op", || ());
        let (_, total, calls) = totals().into_iter().find(|(k, _, _)| *k == "profile test op").unwrap();
        assert_eq!(calls, 1);
        assert!(total >= Duration::from_millis(5));
    }
}
