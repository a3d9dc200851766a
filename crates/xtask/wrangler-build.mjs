// The [build] command in wrangler.toml: `wrangler deploy` and `wrangler dev` run it before they
// bundle build/index.js, and so do Cloudflare's Git-connected builds (Workers Builds). It runs
// `cargo xtask build`, which installs the pinned tools it needs (wasm32 target, wasm-bindgen,
// worker-build, npm packages) and builds offline from crates.io and npm.
//
// Usage: node crates/xtask/wrangler-build.mjs worker|demo
//   worker  the Worker only (build/), for the API deployment
//   demo    the Worker and the npm package that the page in www/ imports
//
// Rust itself: Node is all that wrangler needs, so Rust may be missing. Workers Builds' image
// has no Rust: there (WORKERS_CI=1), or with DUKCAPIL_INSTALL_RUST=1, rustup is installed and
// it installs the toolchain pinned in rust-toolchain.toml. Elsewhere the build stops and says
// what to install, rather than change a developer's machine unasked.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TARGETS = { worker: ['build', 'worker'], demo: ['build'] };

function fail(message) {
  console.error(`\ndukcapil-facematch build: ${message}\n`);
  process.exit(1);
}

const what = process.argv[2] ?? 'worker';
if (!TARGETS[what]) fail(`unknown target "${what}": use worker or demo`);

// `cargo xtask demo` and the end-to-end tests build first, then run `wrangler dev`.
if (process.env.DUKCAPIL_PREBUILT === '1') {
  console.log('built by cargo xtask already');
  process.exit(0);
}

const exe = process.platform === 'win32' ? '.exe' : '';
const cargoHome = process.env.CARGO_HOME || path.join(os.homedir(), '.cargo');
const cargoBin = path.join(cargoHome, 'bin');

const works = (cmd, args = ['--version']) =>
  spawnSync(cmd, args, { cwd: ROOT, stdio: 'ignore', shell: false }).status === 0;

/** cargo on PATH, else in CARGO_HOME (rustup's default place, often not yet on PATH). */
function findCargo() {
  if (works('cargo')) return 'cargo';
  const inHome = path.join(cargoBin, `cargo${exe}`);
  return fs.existsSync(inHome) && works(inHome) ? inHome : null;
}

function run(cmd, args, env = process.env) {
  console.log(`> ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env });
  if (r.error) fail(`cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`\`${cmd} ${args.join(' ')}\` failed (exit ${r.status})`);
}

async function installRust() {
  if (process.platform === 'win32') fail('Rust is missing: install it from https://rustup.rs');
  console.log('Rust is missing: installing rustup, then the toolchain in rust-toolchain.toml');
  const res = await fetch('https://sh.rustup.rs').catch((e) => fail(`cannot download rustup: ${e.cause?.message ?? e.message}`));
  if (!res.ok) fail(`cannot download rustup (HTTP ${res.status})`);
  const script = path.join(os.tmpdir(), `rustup-init-${process.pid}.sh`);
  fs.writeFileSync(script, Buffer.from(await res.arrayBuffer()));
  run('sh', [script, '-y', '--profile', 'minimal', '--default-toolchain', 'none', '--no-modify-path']);
  fs.rmSync(script, { force: true });
  // Installs the toolchain that rust-toolchain.toml names, with its targets and components.
  run(path.join(cargoBin, `rustup${exe}`), ['toolchain', 'install']);
}

let cargo = findCargo();
if (!cargo) {
  if (process.env.WORKERS_CI === '1' || process.env.DUKCAPIL_INSTALL_RUST === '1') {
    await installRust();
    cargo = findCargo();
    if (!cargo) fail('rustup was installed but cargo still does not run');
  } else {
    fail(`Rust is not installed, and the Worker is Rust compiled to WebAssembly.
Install it with rustup (https://rustup.rs):
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh
then run the same wrangler command again. (DUKCAPIL_INSTALL_RUST=1 lets this build install it.)`);
  }
}

// rustup's proxies (rustc, cargo) must be on PATH for cargo's own subprocesses.
const env = { ...process.env, PATH: `${cargoBin}${path.delimiter}${process.env.PATH ?? ''}` };
run(cargo, ['xtask', ...TARGETS[what]], env);
