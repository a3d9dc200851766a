//! `cargo xtask bench proxy`: the proxy Worker under a bounded load on loopback, next to the
//! HyperVerge double called directly and a pass-through Worker that validates nothing.
//!
//! It builds `build/` as `cargo xtask test` does, then runs `tests/bench/proxy-bench.mjs`,
//! which prints a Markdown table (requests/s, p50/p99 and what each Worker adds over the
//! double, workerd CPU ms per request, bundle size gzipped) and whether the targets are met.
//! A benchmark, never a test: it fails only when the build or a request fails.
//!
//! The loads are bounded (`BENCH_N_200KB`, `BENCH_C_200KB`, `BENCH_N_2MB`, `BENCH_C_2MB`,
//! `BENCH_MAX_SECONDS` in the environment override the defaults) and everything listens on
//! 127.0.0.1 only.

use crate::proxy;
use crate::setup::Tools;
use crate::util::{self, Result};
use std::path::Path;

/// The Node side: the double, Miniflare (workerd) and the load generator.
const SCRIPT: &str = "tests/bench/proxy-bench.mjs";

pub fn run(root: &Path, tools: &Tools) -> Result<()> {
    proxy::build(root, tools)?;
    util::step("proxy benchmark (tests/bench/proxy-bench.mjs: Miniflare, the double, loopback)");
    util::run(root, "node", &[SCRIPT], &[])
}
