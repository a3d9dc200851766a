//! Every committed seed and crash input runs through its target's checks on each `cargo test`.

use std::path::Path;

fn run_dir(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        check(&std::fs::read(&path).unwrap());
        count += 1;
    }
    assert!(count > 0, "no seeds in {}", dir.display());
}

#[test]
fn nik_seeds() {
    run_dir("nik", dukcapil_fuzz::nik);
}

#[test]
fn request_json_seeds() {
    run_dir("request_json", dukcapil_fuzz::request_json);
}

#[test]
fn upstream_response_seeds() {
    run_dir("upstream_response", dukcapil_fuzz::upstream_response);
}

#[test]
fn selfie_decode_seeds() {
    run_dir("selfie_decode", dukcapil_fuzz::selfie_decode);
}
