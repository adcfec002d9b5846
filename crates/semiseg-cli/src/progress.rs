//! Progress bars on stderr with rate and ETA (hidden when stderr is not a terminal), the
//! observer that drives them during training, and the Ctrl-C stop flag.

use indicatif::{ProgressBar, ProgressStyle};
use semiseg_train::trainer::Observer;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A bar for `len` items labelled `what`.
pub fn bar(len: usize, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len as u64);
    pb.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} {per_sec} ETA {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// Progress bar and messages on stderr.
pub struct BarObserver {
    /// The bar advanced by each step.
    pub bar: ProgressBar,
}

impl Observer for BarObserver {
    fn step(&mut self, t: usize, _total: usize, loss: f64, lr: f64) {
        self.bar.set_position(t as u64);
        self.bar.set_message(format!("loss {loss:.4} lr {lr:.2e}"));
    }
    fn validated(&mut self, t: usize, metric: &str, score: f64, best: bool) {
        let name = semiseg_train::config::select_by_label(metric);
        self.message(&format!("iteration {t}: validation {name} {score:.4}{}", if best { " (best so far)" } else { "" }));
    }
    fn message(&mut self, text: &str) {
        // A hidden bar (stderr not a terminal) swallows println: write the line directly then.
        if self.bar.is_hidden() {
            eprintln!("{text}");
        } else {
            self.bar.println(text);
        }
    }
}

/// A flag set by the first Ctrl-C (the work stops after its current iteration and saves); a
/// second Ctrl-C exits at once.
pub fn stop_on_ctrl_c() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nstopping after this iteration (Ctrl-C again to quit at once)...");
    })?;
    Ok(stop)
}
