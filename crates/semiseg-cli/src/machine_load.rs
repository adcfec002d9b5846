//! How busy the machine was while a benchmark ran, measured as `torch_bench.py` measures it
//! (`foreign_cores`): the whole machine's busy CPU time (`/proc/stat`) minus this process's own
//! (`/proc/self/stat`), over the wall time — the cores something else was using. A speed ratio
//! from a round where either side had company is not a measurement of either side. Also the
//! process's peak resident memory (`/proc/self/status` `VmHWM`). Linux only; elsewhere `None`.

use std::time::Instant;

/// Clock ticks per second of `/proc/stat` and `/proc/<pid>/stat` (`USER_HZ`, 100 on Linux).
const USER_HZ: f64 = 100.0;

/// The machine's busy seconds (user, nice, system, irq, softirq: as torch_bench.py counts).
fn machine_busy_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let v: Vec<u64> = text.lines().next()?.split_whitespace().skip(1).map(|t| t.parse().ok()).collect::<Option<_>>()?;
    let at = |i: usize| v.get(i).copied().unwrap_or(0);
    Some((at(0) + at(1) + at(2) + at(5) + at(6)) as f64 / USER_HZ)
}

/// This process's CPU seconds (user + system, all threads).
fn own_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // fields after the command name (which may hold spaces) start at the state, field 3
    let after = text.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let (utime, stime): (u64, u64) = (f.get(11)?.parse().ok()?, f.get(12)?.parse().ok()?);
    Some((utime + stime) as f64 / USER_HZ)
}

/// Peak resident memory of this process, MiB.
pub fn peak_rss_mib() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = text.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib / 1024.0)
}

/// A started measurement.
pub struct LoadMeter {
    wall: Instant,
    busy: Option<f64>,
    own: Option<f64>,
}

/// Cores this process and everything else kept busy over a measured stretch.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// This process's CPU seconds per wall second.
    pub own_cores: f64,
    /// Everything else's.
    pub foreign_cores: f64,
}

impl LoadMeter {
    /// Starts measuring now.
    pub fn start() -> Self {
        Self { wall: Instant::now(), busy: machine_busy_seconds(), own: own_seconds() }
    }

    /// The load since [`LoadMeter::start`].
    pub fn stop(&self) -> Option<Load> {
        let wall = self.wall.elapsed().as_secs_f64();
        let (busy, own) = (machine_busy_seconds()? - self.busy?, own_seconds()? - self.own?);
        (wall > 0.0).then(|| Load { own_cores: own / wall, foreign_cores: ((busy - own) / wall).max(0.0) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_loop_counts_as_own_load() {
        if machine_busy_seconds().is_none() {
            return; // not Linux
        }
        let meter = LoadMeter::start();
        let t = Instant::now();
        let mut x = 0u64;
        while t.elapsed().as_millis() < 300 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let load = meter.stop().unwrap();
        // a loaded machine (other tests, other processes) shares the cores: the spin gets some
        // CPU time, and no figure can pass the machine's core count
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        assert!(load.own_cores > 0.05 && load.own_cores <= cores + 0.5, "{load:?}");
        assert!(load.foreign_cores >= 0.0 && load.foreign_cores <= cores + 0.5, "{load:?}");
        assert!(peak_rss_mib().unwrap() > 0.0);
    }
}
