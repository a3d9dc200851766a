//! `cargo xtask codegen`: region-name tables for `dukcapil-core`, from the npm package
//! `idn-area-data` (Kemendagri codes) plus our table of regencies moved by the 2022 Papua
//! splits. `--check` regenerates in memory and fails when the committed file differs.

use crate::util::{Result, XtaskError};
use std::{collections::BTreeMap, fmt::Write as _, path::Path};

const OUTPUT: &str = "crates/dukcapil-core/src/regions_generated.rs";
const DATA: &str = "node_modules/idn-area-data";
const HISTORICAL: &str = "crates/xtask/data/historical-regencies.csv";

pub fn run(root: &Path, check: bool) -> Result<()> {
    let mut outputs = vec![(OUTPUT, generate(root)?)];
    for (doc, sections) in DOCS {
        let text = std::fs::read_to_string(root.join(doc)).unwrap_or_default();
        outputs.push((doc, with_generated_sections(doc, &text, sections)?));
    }
    for (rel, generated) in outputs {
        let path = root.join(rel);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed == generated {
            println!("{rel} is up to date");
        } else if check {
            return Err(XtaskError::new(format!(
                "{rel} is out of date: run `cargo xtask codegen` and commit the result"
            )));
        } else {
            std::fs::write(&path, generated)?;
            println!("wrote {rel}");
        }
    }
    Ok(())
}

const README: &str = "README.md";
const PROXY_README: &str = "crates/dukcapil-proxy/README.md";

/// Each document with generated sections, and its sections.
const DOCS: &[(&str, &[Section])] = &[(README, SECTIONS), (PROXY_README, PROXY_SECTIONS)];

/// A generated README section: text between `<!-- NAME:start (cargo xtask codegen) -->` and
/// `<!-- NAME:end -->`.
struct Section {
    name: &'static str,
    body: fn() -> String,
}

const SECTIONS: &[Section] = &[
    Section {
        name: "error-codes",
        body: error_table,
    },
    Section {
        name: "selfie-error-codes",
        body: selfie_error_table,
    },
    Section {
        name: "sandbox-table",
        body: dukcapil_proxy::logic::sandbox::table_markdown,
    },
];

const PROXY_SECTIONS: &[Section] = &[
    Section {
        name: "check-order",
        body: dukcapil_proxy::logic::pipeline::order_markdown,
    },
    Section {
        name: "log-reasons",
        body: dukcapil_proxy::logic::refusal::table_markdown,
    },
];

/// The README's error-code table, made from the core's catalogue so it can't drift.
fn error_table() -> String {
    use dukcapil_core::{ErrorCode, Lang};
    let mut t = String::from(
        "| code | HTTP | retry helps | upstream can cause | English | Bahasa Indonesia |\n|---|---:|:---:|:---:|---|---|\n",
    );
    for code in ErrorCode::ALL {
        let status = match code.http_status() {
            0 => "—".to_string(),
            s => s.to_string(),
        };
        let yes = |b: bool| if b { "yes" } else { "no" };
        let _ = writeln!(
            t,
            "| `{}` | {status} | {} | {} | {} | {} |",
            code.as_str(),
            yes(code.retryable()),
            yes(code.upstream()),
            code.message(Lang::En),
            code.message(Lang::Id)
        );
    }
    t
}

fn selfie_error_table() -> String {
    use dukcapil_core::Lang;
    use dukcapil_selfie::SelfieError;
    let mut t = String::from("| code | English | Bahasa Indonesia |\n|---|---|---|\n");
    for e in SelfieError::ALL {
        let _ = writeln!(
            t,
            "| `{}` | {} | {} |",
            e.code(),
            e.message(Lang::En),
            e.message(Lang::Id)
        );
    }
    t
}

fn with_section(file: &str, doc: &str, name: &str, body: &str) -> Result<String> {
    let start_marker = format!("<!-- {name}:start (cargo xtask codegen) -->\n");
    let end_marker = format!("<!-- {name}:end -->");
    let (Some(start), Some(end)) = (doc.find(&start_marker), doc.find(&end_marker)) else {
        return Err(XtaskError::new(format!(
            "{file} lacks the markers `{}` … `{end_marker}`",
            start_marker.trim_end()
        )));
    };
    let body_start = start + start_marker.len();
    if end < body_start {
        return Err(XtaskError::new(format!(
            "{file}: {name} markers out of order"
        )));
    }
    Ok(format!("{}{body}{}", &doc[..body_start], &doc[end..]))
}

fn with_generated_sections(file: &str, text: &str, sections: &[Section]) -> Result<String> {
    sections.iter().try_fold(text.to_string(), |doc, section| {
        with_section(file, &doc, section.name, &(section.body)())
    })
}

fn read(root: &Path, rel: &str) -> Result<String> {
    std::fs::read_to_string(root.join(rel))
        .map_err(|e| XtaskError::new(format!("cannot read {rel}: {e} (is `npm ci` done?)")))
}

/// `11.01.02` → 110102, after checking each part has two digits.
fn parse_code(dotted: &str, parts: usize) -> Result<u32> {
    let pieces: Vec<&str> = dotted.split('.').collect();
    let ok = pieces.len() == parts
        && pieces
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()));
    if !ok {
        return Err(XtaskError::new(format!(
            "unexpected region code `{dotted}`"
        )));
    }
    Ok(pieces.concat().parse().unwrap_or(0))
}

/// One CSV field: plain, or quoted with `""` for a quote.
fn unquote(field: &str) -> Result<String> {
    let Some(inner) = field.strip_prefix('"') else {
        return Ok(field.to_string());
    };
    let inner = inner
        .strip_suffix('"')
        .ok_or_else(|| XtaskError::new(format!("unterminated quote in `{field}`")))?;
    if inner.replace("\"\"", "").contains('"') {
        return Err(XtaskError::new(format!("stray quote in `{field}`")));
    }
    Ok(inner.replace("\"\"", "\""))
}

/// Rows of `code[,parent],name`; only the name may contain commas or quotes.
fn table(csv: &str, parts: usize) -> Result<BTreeMap<u32, String>> {
    let columns = if parts == 1 { 2 } else { 3 };
    let mut out = BTreeMap::new();
    for line in csv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.splitn(columns, ',').collect();
        let (Some(code), Some(name)) = (cols.first(), cols.get(columns - 1)) else {
            return Err(XtaskError::new(format!("bad CSV row `{line}`")));
        };
        let name = unquote(name.trim())?;
        if name.is_empty() {
            return Err(XtaskError::new(format!("empty name in `{line}`")));
        }
        if out.insert(parse_code(code.trim(), parts)?, name).is_some() {
            return Err(XtaskError::new(format!("duplicate code in `{line}`")));
        }
    }
    Ok(out)
}

fn package_version(root: &Path) -> Result<String> {
    let pkg = read(root, &format!("{DATA}/package.json"))?;
    pkg.lines()
        .find_map(|l| {
            let v = l.trim().strip_prefix("\"version\": \"")?;
            Some(v.trim_end_matches([',', '"']).to_string())
        })
        .ok_or_else(|| XtaskError::new("no version in idn-area-data's package.json"))
}

fn rust_str(s: &str) -> String {
    format!("{s:?}")
}

pub fn generate(root: &Path) -> Result<String> {
    let provinces = table(&read(root, &format!("{DATA}/data/provinces.csv"))?, 1)?;
    let regencies = table(&read(root, &format!("{DATA}/data/regencies.csv"))?, 2)?;
    let districts = table(&read(root, &format!("{DATA}/data/districts.csv"))?, 3)?;
    let mut moved = Vec::new();
    for line in read(root, HISTORICAL)?.lines().skip(1) {
        let mut cols = line.split(',');
        let (Some(old), Some(new)) = (cols.next(), cols.next()) else {
            return Err(XtaskError::new(format!("bad row `{line}` in {HISTORICAL}")));
        };
        let (old, new) = (parse_code(old, 2)?, parse_code(new, 2)?);
        if regencies.contains_key(&old) || !regencies.contains_key(&new) {
            return Err(XtaskError::new(format!(
                "{HISTORICAL}: {old} must be retired and {new} current"
            )));
        }
        moved.push((old, new));
    }
    moved.sort_unstable();

    let mut out = String::new();
    let version = package_version(root)?;
    let _ = writeln!(
        out,
        "// @generated by `cargo xtask codegen`. Do not edit.\n\
         // Region names: npm idn-area-data {version} (code MIT; data ODbL 1.0,\n\
         // © its contributors, from Kemendagri regulations). Moved regencies: {HISTORICAL}.\n"
    );
    let _ = writeln!(out, "pub(crate) const PROVINCES: &[(u8, &str)] = &[");
    for (code, name) in &provinces {
        let _ = writeln!(out, "    ({code}, {}),", rust_str(name));
    }
    let _ = writeln!(out, "];\n\npub(crate) const REGENCIES: &[(u16, &str)] = &[");
    for (code, name) in &regencies {
        let _ = writeln!(out, "    ({code}, {}),", rust_str(name));
    }
    let _ = writeln!(
        out,
        "];\n\n/// (retired code, current code) for regencies that moved province.\n\
         pub(crate) const MOVED_REGENCIES: &[(u16, u16)] = &["
    );
    for (old, new) in &moved {
        let _ = writeln!(out, "    ({old}, {new}),");
    }
    let _ = writeln!(
        out,
        "];\n\n#[cfg(feature = \"district-names\")]\npub(crate) const DISTRICTS: &[(u32, &str)] = &["
    );
    for (code, name) in &districts {
        let _ = writeln!(out, "    ({code}, {}),", rust_str(name));
    }
    let _ = writeln!(out, "];");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_replace_only_what_is_between_the_markers() {
        let doc = "intro\n<!-- t:start (cargo xtask codegen) -->\nstale\n<!-- t:end -->\noutro\n";
        let out = with_section("d", doc, "t", "fresh\n").unwrap();
        assert_eq!(
            out,
            "intro\n<!-- t:start (cargo xtask codegen) -->\nfresh\n<!-- t:end -->\noutro\n"
        );
        assert_eq!(with_section("d", &out, "t", "fresh\n").unwrap(), out);
        assert!(with_section("d", "no markers", "t", "x").is_err());
        assert!(error_table().contains("| `NIK_LENGTH` | 400 | no | no |"));
        assert!(error_table().contains("| `UPSTREAM_REJECTED` | 422 | no | yes |"));
        assert!(selfie_error_table().contains("| `SELFIE_CANNOT_FIT` |"));
    }

    #[test]
    fn parses_dotted_codes_strictly() {
        assert_eq!(parse_code("11.01.02", 3).ok(), Some(110102));
        assert_eq!(parse_code("91", 1).ok(), Some(91));
        assert!(parse_code("11.1", 2).is_err());
        assert!(parse_code("11.01", 3).is_err());
        assert!(parse_code("1a.01", 2).is_err());
    }

    #[test]
    fn reads_tables_and_rejects_duplicates() {
        let t = table("code,name\n11,Aceh\n12,Sumatera Utara\n", 1).unwrap();
        assert_eq!(t.get(&12).map(String::as_str), Some("Sumatera Utara"));
        assert!(table("code,name\n11,Aceh\n11,Aceh\n", 1).is_err());
        let q = table("code,regency_code,name\n35.29.22,35.29,\"Ra\"\"as\"\n", 3).unwrap();
        assert_eq!(q.get(&352922).map(String::as_str), Some("Ra\"as"));
        assert!(table("code,name\n11,\"Ac\"eh\"\n", 1).is_err());
        let r = table(
            "code,province_code,name\n11.01,11,Kabupaten Aceh Selatan\n",
            2,
        )
        .unwrap();
        assert_eq!(
            r.get(&1101).map(String::as_str),
            Some("Kabupaten Aceh Selatan")
        );
    }
}
