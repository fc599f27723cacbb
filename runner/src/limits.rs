//! The runner's limits on time and concurrency, with their defaults in one place.
//! Spin has none of these by default (no request deadline for WASIp2 components, no
//! header or connection limit, and a full instance pool answers 500); the runner's
//! defaults keep one slow client or looping guest from taking the app down.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall-clock bound on one request from admission to its last byte, chained calls
    /// included: guests are interrupted (epoch deadline, as Spin's `Store::set_deadline`)
    /// and a body still arriving is cut off. `None`: no bound (Spin's default).
    pub request_timeout: Option<Duration>,
    /// Bound on reading a request's headers, and on an idle keep-alive connection.
    pub header_read_timeout: Duration,
    /// Open connections at most; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// Spin's `SPIN_MAX_INSTANCE_COUNT`: the size of the instance pool.
    pub max_instances: u32,
    /// Requests that may wait for an instance; one more is answered 503.
    pub max_queued_requests: usize,
    /// How long a request may wait for an instance before it is answered 503.
    pub queue_timeout: Duration,
    /// How WASIp3 components' instances are reused (WASIp2 instances never are).
    pub instance_reuse: InstanceReuse,
}

/// Spin 4's reuse of a WASIp3 (`wasi:http/handler@0.3`) component's instance, with
/// Spin's defaults (`crates/trigger-http/src/lib.rs`). Spin also takes a range for each
/// (a value drawn per instance); the runner takes single values.
#[derive(Debug, Clone, Copy)]
pub struct InstanceReuse {
    /// `--max-instance-reuse-count`: requests one instance serves before it is dropped.
    pub max_requests: usize,
    /// `--max-instance-concurrent-reuse-count`: requests one instance serves at once.
    pub max_concurrent: usize,
    /// `--idle-instance-timeout`: how long an idle instance is kept for the next request.
    pub idle_timeout: Duration,
}

impl Default for InstanceReuse {
    fn default() -> Self {
        Self {
            max_requests: 128,
            max_concurrent: 16,
            idle_timeout: Duration::from_secs(1),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            request_timeout: Some(Duration::from_secs(30)),
            // hyper's own default, once a timer is given.
            header_read_timeout: Duration::from_secs(30),
            max_connections: 4096,
            max_instances: crate::pool::DEFAULT_MAX_INSTANCES,
            max_queued_requests: 1000,
            queue_timeout: Duration::from_secs(10),
            instance_reuse: InstanceReuse::default(),
        }
    }
}

/// Parses a duration as Spin's `--request-timeout` does: a number of seconds, or a
/// number with `s`, `ms`, `us`/`μs` or `ns`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (e.g. 30s, 500ms)"))?;
    let seconds = match unit {
        "" | "s" => number,
        "ms" => number / 1e3,
        "us" | "μs" => number / 1e6,
        "ns" => number / 1e9,
        _ => return Err(format!("`{text}`: unknown unit `{unit}` (s, ms, us, ns)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("`{text}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_spins() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("7us").unwrap(), Duration::from_micros(7));
        assert_eq!(parse_duration("9ns").unwrap(), Duration::from_nanos(9));
        assert!(parse_duration("5m").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("").is_err());
    }
}
