//! Medians, spreads and the context every BENCHMARKS.md line carries: the exact
//! command, the machine and its load average at the time.

use std::fmt::Write as _;

/// The distribution of one measured quantity.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// 50th percentile.
    pub p50: f64,
    /// 10th percentile.
    pub p10: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
}

impl Summary {
    /// Summarises `values` (nearest-rank percentiles); `None` if empty.
    pub fn of(values: &[f64]) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        let rank = |p: f64| v[((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Some(Summary {
            n: v.len(),
            p50: rank(50.0),
            p10: rank(10.0),
            p90: rank(90.0),
            p99: rank(99.0),
            min: v[0],
            max: v[v.len() - 1],
        })
    }

    /// `p50 X (p10–p90 A–B, n=N)` with `digits` decimals.
    pub fn show(&self, unit: &str, digits: usize) -> String {
        format!(
            "p50 {:.d$} {unit} (p10–p90 {:.d$}–{:.d$}, min {:.d$}, max {:.d$}, n={})",
            self.p50,
            self.p10,
            self.p90,
            self.min,
            self.max,
            self.n,
            d = digits
        )
    }
}

/// The CPU model and core count.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("unknown CPU")
        .to_string();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {cores} cores")
}

/// The 1, 5 and 15 minute load averages.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

/// The command line that is running, as typed.
pub fn command() -> String {
    let mut out = String::from("hearth-bench");
    for arg in std::env::args().skip(1) {
        let _ = write!(out, " {arg}");
    }
    out
}

/// Prints one result block: what, result, goal, and the context.
pub fn report(what: &str, result: &str, goal: &str) {
    println!("- **{what}**: {result}");
    println!("  - goal: {goal}");
    println!(
        "  - command: `{}`; machine: {}; load average before: {}, after: {}",
        command(),
        machine(),
        START_LOAD.get().map_or("?", String::as_str),
        load()
    );
}

/// The load average when the program started (set by `main`).
pub static START_LOAD: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// CPU time (user + system) of a process in seconds, from `/proc/PID/stat`.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are 14th and 15th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// A `VmRSS`/`VmHWM`-style line of `/proc/PID/status`, in MiB.
pub fn status_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let s = Summary::of(&[5.0, 1.0, 4.0, 2.0, 3.0]).unwrap();
        assert_eq!((s.p50, s.min, s.max, s.n), (3.0, 1.0, 5.0, 5));
        assert!(Summary::of(&[]).is_none());
    }
}
