//! `cargo xtask bench proxy`: the proxy Worker under a bounded load on loopback, next to the
//! HyperVerge double called directly, a pass-through Worker that checks nothing, and a
//! buffered pass-through that reads the body first (the floor for checking before forwarding).
//!
//! It builds `build/` as `cargo xtask test` does, then runs `tests/bench/proxy-bench.mjs`,
//! which prints Markdown tables (requests/s, p50/p99 and what each Worker adds over the double,
//! workerd CPU ms per request and its ratio to the pass-through, a per-stage breakdown of the
//! proxy's CPU), the isolate's memory under 16 concurrent 2 MB requests, the bundle size
//! gzipped, and whether the targets are met. A benchmark, never a test: it fails only when the
//! build or a request fails.
//!
//! The loads are bounded (`BENCH_N_200KB`, `BENCH_C_200KB`, `BENCH_N_2MB`, `BENCH_C_2MB`,
//! `BENCH_ROUNDS`, `BENCH_MEMORY_REQUESTS`, `BENCH_MAX_SECONDS` in the environment override the
//! defaults) and everything listens on 127.0.0.1 only.

use crate::proxy;
use crate::setup::Tools;
use crate::util::{self, Result};
use std::path::Path;

/// The Node side: the double, Miniflare (workerd) and the load generator.
const SCRIPT: &str = "tests/bench/proxy-bench.mjs";

pub fn run(root: &Path, tools: &Tools) -> Result<()> {
    proxy::build(root, tools)?;
    util::step("proxy benchmark (tests/bench/proxy-bench.mjs: Miniflare, the double, loopback)");
    // WebSocket (for the V8 inspector's heap figures) is behind a flag on Node 20.
    util::run(root, "node", &["--experimental-websocket", SCRIPT], &[])
}
