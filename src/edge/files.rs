//! How many connections the process can afford: its soft limit on open files
//! (`LimitNOFILE` under systemd) minus a reserve for everything that is not
//! a client connection — WebRTC's UDP sockets, the camera and sound devices,
//! data files being written, the listener itself.

/// The share of the file limit kept back from connections (one in four)...
const RESERVE_DIVISOR: u64 = 4;
/// ...and never fewer files than this.
const MIN_RESERVE: u64 = 64;
/// Connections allowed when the limit cannot be read.
pub const FALLBACK_CONNECTIONS: usize = 768;

/// Connections allowed for a soft file limit of `soft`: three quarters of it,
/// keeping at least [`MIN_RESERVE`] files for the rest of the process.
pub fn connection_budget(soft: u64) -> usize {
    let reserve = (soft / RESERVE_DIVISOR).max(MIN_RESERVE);
    usize::try_from(soft.saturating_sub(reserve).max(1)).unwrap_or(usize::MAX)
}

/// The soft limit on open files from `/proc/self/limits`; `None` if unlimited or unreadable.
pub fn soft_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_soft_limit(&limits)
}

/// Connections allowed for this process.
pub fn process_connection_budget() -> usize {
    soft_file_limit().map_or(FALLBACK_CONNECTIONS, connection_budget)
}

fn parse_soft_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_keeps_a_quarter_and_at_least_64() {
        assert_eq!(connection_budget(1024), 768);
        assert_eq!(connection_budget(16_384), 12_288);
        assert_eq!(connection_budget(200), 136);
        assert_eq!(connection_budget(10), 1);
    }

    #[test]
    fn reads_the_soft_limit() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max open files            1024                 524288               files     \n";
        assert_eq!(parse_soft_limit(text), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_soft_limit(unlimited), None);
        assert!(soft_file_limit().is_some(), "this process has a file limit");
    }
}
