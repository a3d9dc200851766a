//! The quality gate on its calibration set (built from the committed fixtures): no usable
//! photo refused, at least 95 % of the degraded ones caught, each with the code that names
//! its fault. The README's table is generated from the same set (`cargo xtask codegen`).

use dukcapil_selfie::calibration::{
    confusion_table, evaluate, samples, Fixtures, Kind, Outcome, Sample,
};
use dukcapil_selfie::QualityChecks;
use std::sync::OnceLock;

/// The set, built once for all the tests here (it takes seconds).
fn set() -> &'static [Sample] {
    static SET: OnceLock<Vec<Sample>> = OnceLock::new();
    SET.get_or_init(|| {
        samples(&Fixtures {
            astronaut_png: include_bytes!("../../../tests/fixtures/astronaut.png"),
            frame_png: include_bytes!("../../../tests/fixtures/frame_1080.png"),
            photo_jpg: include_bytes!("../../../tests/fixtures/photo_12mp.jpg"),
        })
        .unwrap()
    })
}

/// The gate's verdicts on the set with the default thresholds, computed once.
fn defaults() -> &'static [Outcome] {
    static OUT: OnceLock<Vec<Outcome>> = OnceLock::new();
    OUT.get_or_init(|| evaluate(set(), &QualityChecks::default()).unwrap())
}

#[test]
fn calibration_set_meets_the_targets() {
    let out = defaults();
    println!("{}", confusion_table(out));
    let usable: Vec<_> = out.iter().filter(|o| o.kind.usable()).collect();
    let degraded: Vec<_> = out.iter().filter(|o| !o.kind.usable()).collect();
    assert_eq!((usable.len(), degraded.len()), (52, 48), "the set changed");
    let refused: Vec<_> = usable.iter().filter(|o| o.verdict.is_err()).collect();
    for o in &refused {
        println!(
            "usable but refused: {} {:?} {:?}",
            o.name, o.verdict, o.metrics
        );
    }
    assert!(
        refused.is_empty(),
        "{} usable photos refused",
        refused.len()
    );
    let missed: Vec<_> = degraded.iter().filter(|o| !o.correct()).collect();
    for o in &missed {
        println!(
            "degraded, not caught as such: {} {:?} {:?}",
            o.name, o.verdict, o.metrics
        );
    }
    let caught = degraded.len() - missed.len();
    assert!(
        caught * 100 >= degraded.len() * 95,
        "caught {caught}/{}",
        degraded.len()
    );
}

/// The set is the one the README describes: each framing's originals at full, ¾ and ½ of its
/// long side (1280 px; the 512-px astronaut is never scaled up), each through JPEG at q90, q60
/// and q35, and every variant at full size.
#[test]
fn the_set_is_the_one_described() {
    let framings = [
        ("astronaut", 512),
        ("frame", 1280),
        ("phone", 1280),
        ("portrait", 1280),
    ];
    let mut want = Vec::new();
    for (name, top) in framings {
        for long in [top, top * 3 / 4, top / 2] {
            for q in [90, 60, 35] {
                want.push((format!("{name} {long}px q{q}"), long));
            }
        }
    }
    let originals: Vec<(String, u32)> = set()
        .iter()
        .filter(|s| s.kind == Kind::Original)
        .map(|s| (s.name.clone(), s.width.max(s.height)))
        .collect();
    assert_eq!(originals, want);
    for s in set().iter().filter(|s| s.kind != Kind::Original) {
        let framing = framings.iter().find(|(name, _)| s.name.starts_with(name));
        assert_eq!(
            framing.map(|&(_, top)| top),
            Some(s.width.max(s.height)),
            "{}",
            s.name
        );
    }
}

/// Thresholds move the verdicts: the gate is not passing everything by accident.
#[test]
fn thresholds_decide() {
    let lax = QualityChecks {
        min_brightness: 0.0,
        max_dark_clipped: 1.0,
        max_brightness: 255.0,
        max_bright_clipped: 1.0,
        min_sharpness: 0.0,
        faces: true,
    };
    let out = evaluate(set(), &lax).unwrap();
    assert!(out.iter().all(|o| o.verdict.is_ok()));
    let strict = QualityChecks {
        min_sharpness: 0.99,
        ..Default::default()
    };
    let out = evaluate(set(), &strict).unwrap();
    assert!(out.iter().all(|o| o.verdict.is_err()));
}

/// The README's tables are this set's: a change to the set, the metrics or the gate that
/// moves any published figure fails here, not only in the drift check of `cargo xtask test`
/// (`cargo xtask codegen` rewrites the README).
#[test]
fn the_readme_tables_are_this_sets() {
    const START: &str = "<!-- quality-gate-table:start (cargo xtask codegen) -->\n";
    const END: &str = "<!-- quality-gate-table:end -->";
    let readme = include_str!("../../../README.md");
    let published = readme
        .split_once(START)
        .and_then(|(_, rest)| rest.split_once(END))
        .map(|(block, _)| block);
    assert_eq!(Some(confusion_table(defaults()).as_str()), published);
}
