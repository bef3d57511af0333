//! What every fuzz target shares: an input's time is judged on the CPU it used, not on the
//! wall clock.
//!
//! libFuzzer's `-timeout` counts wall-clock seconds, so beside other work (the runs go at
//! nice 19) a quick input that is starved of the CPU looks slow. Each target therefore
//! measures the CPU time the process spent on one input and fails, as a crash does, when an
//! input under 1 MiB took more than [`CPU_LIMIT`] of it; `-timeout` stays only as a backstop
//! for an input that never ends.

use std::time::Duration;

/// The CPU one input may take: a feed or page anyone can publish costs feedwatch at most
/// this much, in the instrumented build (several times slower than the release binary).
pub const CPU_LIMIT: Duration = Duration::from_secs(1);

/// Inputs at least this long are not held to [`CPU_LIMIT`]: the daemon's own caps and
/// budgets bound them, and the limit is for inputs under 1 MiB.
const LIMITED_LEN: usize = 1 << 20;

/// Runs `target` on `data` and panics (a failure libFuzzer saves) if it took over
/// [`CPU_LIMIT`] of CPU time.
pub fn run_within_cpu_limit(target: feedwatch::fuzz::Target, data: &[u8]) {
    let start = process_cpu_time();
    target(data);
    let spent = process_cpu_time().saturating_sub(start);
    if data.len() < LIMITED_LEN && spent > CPU_LIMIT {
        panic!(
            "an input of {} bytes took {:.2} s of CPU, over the {} s limit",
            data.len(),
            spent.as_secs_f64(),
            CPU_LIMIT.as_secs()
        );
    }
}

/// The CPU time (user and system) this process has used so far.
fn process_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the call's duration.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    if status != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}
