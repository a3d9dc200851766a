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

#[test]
fn multipart_seeds() {
    run_dir("multipart", dukcapil_fuzz::multipart);
}

#[test]
fn jwt_seeds() {
    run_dir("jwt", dukcapil_fuzz::jwt);
}

/// The seeds reach the accepting paths, so the targets' properties on accepted input run.
#[test]
fn seeds_reach_the_accepting_paths() {
    use dukcapil_core::date::CivilDate;
    use dukcapil_proxy::logic::{body, jwt};
    let read = |t: &str, f: &str| {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("seeds")
                .join(t)
                .join(f),
        )
        .unwrap()
    };
    let token = read("jwt", "valid-token");
    let token = std::str::from_utf8(&token[1..]).unwrap();
    let claims = jwt::verify_hs256(token, dukcapil_fuzz::JWT_SECRET, dukcapil_fuzz::JWT_NOW);
    assert_eq!(claims.unwrap().txn.as_deref(), Some("t-1"));
    let wrong = read("jwt", "wrong-secret");
    let wrong = std::str::from_utf8(&wrong[1..]).unwrap();
    assert_eq!(
        jwt::verify_hs256(wrong, dukcapil_fuzz::JWT_SECRET, dukcapil_fuzz::JWT_NOW),
        Err(dukcapil_proxy::logic::refusal::Reason::TokenSignature)
    );
    let today = CivilDate::new(2026, 11, 26).unwrap();
    for f in ["valid-jpeg", "valid-png-webkit", "quoted-boundary-preamble"] {
        let data = read("multipart", f);
        let nl = data.iter().position(|&b| b == b'\n').unwrap();
        let ct = format!(
            "multipart/form-data{}",
            std::str::from_utf8(&data[..nl]).unwrap()
        );
        let kind = body::classify_content_type(Some(&ct)).unwrap();
        let checked = body::check_body(&kind, &data[nl + 1..], today);
        assert_eq!(checked.map(|c| c.nik), Ok("3273010101900001".into()), "{f}");
    }
}
