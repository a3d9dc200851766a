//! Region codes and names (Kemendagri, not BPS).
//!
//! A NIK is issued for life, so codes that were later retired stay valid: validity is decided
//! by [`is_nik_province`] and the rules in [`crate::nik`], never by whether a name is known.

#[cfg(feature = "region-names")]
#[rustfmt::skip]
#[path = "regions_generated.rs"]
mod regions_generated;

/// Every province code ever used in NIKs, current and historical.
pub const NIK_PROVINCES: &[u8] = &[
    11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62, 63, 64, 65,
    71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96,
];

/// Whether a province code has ever been used in NIKs.
pub fn is_nik_province(code: u8) -> bool {
    NIK_PROVINCES.binary_search(&code).is_ok()
}

#[cfg(feature = "region-names")]
fn lookup<K: Ord + Copy, V: Copy>(table: &[(K, V)], key: K) -> Option<V> {
    table
        .binary_search_by_key(&key, |&(k, _)| k)
        .ok()
        .and_then(|i| table.get(i))
        .map(|&(_, v)| v)
}

/// A `(code, name)` table packed at compile time into codes, name ends and one string. Rows of
/// `(u16, &str)` are 12 bytes with a pointer each, which gzip barely shrinks: packed, the
/// browser module is 0.8 KB smaller gzipped.
#[cfg(feature = "region-names")]
struct Packed<K: 'static, const N: usize, const L: usize> {
    codes: [K; N],
    ends: [u16; N],
    names: [u8; L],
}

#[cfg(feature = "region-names")]
const fn names_len<K>(table: &[(K, &str)]) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < table.len() {
        n += table[i].1.len();
        i += 1;
    }
    n
}

#[cfg(feature = "region-names")]
impl<K: Copy + Ord, const N: usize, const L: usize> Packed<K, N, L> {
    const fn new(table: &[(K, &str)]) -> Self {
        assert!(N == table.len() && N > 0 && L == names_len(table) && L <= u16::MAX as usize);
        let mut p = Packed {
            codes: [table[0].0; N],
            ends: [0; N],
            names: [0; L],
        };
        let (mut i, mut at) = (0, 0);
        while i < N {
            p.codes[i] = table[i].0;
            let name = table[i].1.as_bytes();
            let mut j = 0;
            while j < name.len() {
                p.names[at] = name[j];
                at += 1;
                j += 1;
            }
            p.ends[i] = at as u16;
            i += 1;
        }
        p
    }

    fn get(&'static self, key: K) -> Option<&'static str> {
        let i = self.codes.binary_search(&key).ok()?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let name = self
            .names
            .get(usize::from(start)..usize::from(self.ends[i]))?;
        core::str::from_utf8(name).ok()
    }
}

/// `static NAME: Packed<…>` from the generated table of the same name.
macro_rules! packed {
    ($name:ident: $key:ty) => {
        #[cfg(feature = "region-names")]
        static $name: Packed<
            $key,
            { regions_generated::$name.len() },
            { names_len(regions_generated::$name) },
        > = Packed::new(regions_generated::$name);
    };
}

packed!(PROVINCES: u8);
packed!(REGENCIES: u16);

/// The current name of a province, e.g. 32 → "Jawa Barat".
pub fn province_name(code: u8) -> Option<&'static str> {
    #[cfg(feature = "region-names")]
    return PROVINCES.get(code);
    #[cfg(not(feature = "region-names"))]
    return {
        let _ = code;
        None
    };
}

/// A regency's name, and its current code when it has moved province since (e.g. the 2022
/// Papua splits moved Merauke from 91.01 to 93.01; NIKs issued before keep 91.01).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegencyName {
    pub name: &'static str,
    /// `Some(PPRR)` when the code in the NIK has been retired in favour of this one.
    pub moved_to: Option<u16>,
}

/// The name of a regency/city given as `PPRR`, e.g. 3171 → "Kota Administrasi Jakarta Pusat".
pub fn regency_name(code: u16) -> Option<RegencyName> {
    #[cfg(feature = "region-names")]
    {
        use regions_generated::MOVED_REGENCIES;
        if let Some(name) = REGENCIES.get(code) {
            return Some(RegencyName {
                name,
                moved_to: None,
            });
        }
        let current = lookup(MOVED_REGENCIES, code)?;
        REGENCIES.get(current).map(|name| RegencyName {
            name,
            moved_to: Some(current),
        })
    }
    #[cfg(not(feature = "region-names"))]
    {
        let _ = code;
        None
    }
}

/// The name of a district (kecamatan) given as `PPRRDD`. Needs the `district-names` feature.
pub fn district_name(code: u32) -> Option<&'static str> {
    #[cfg(feature = "district-names")]
    return lookup(regions_generated::DISTRICTS, code);
    #[cfg(not(feature = "district-names"))]
    return {
        let _ = code;
        None
    };
}

#[cfg(all(test, feature = "region-names"))]
mod tests {
    use super::*;

    #[test]
    fn every_named_province_is_a_nik_province_and_back() {
        for &(code, _) in regions_generated::PROVINCES {
            assert!(is_nik_province(code), "{code}");
        }
        assert!(NIK_PROVINCES.windows(2).all(|w| w[0] < w[1]));
        for code in [20, 54, 99, 0, 10, 22, 37, 83, 97] {
            assert!(!is_nik_province(code), "{code}");
        }
    }

    #[test]
    fn tables_are_sorted_for_binary_search() {
        assert!(regions_generated::PROVINCES
            .windows(2)
            .all(|w| w[0].0 < w[1].0));
        assert!(regions_generated::REGENCIES
            .windows(2)
            .all(|w| w[0].0 < w[1].0));
        assert!(regions_generated::MOVED_REGENCIES
            .windows(2)
            .all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn packed_tables_give_every_generated_name() {
        for &(code, name) in regions_generated::PROVINCES {
            assert_eq!(PROVINCES.get(code), Some(name));
        }
        for &(code, name) in regions_generated::REGENCIES {
            assert_eq!(REGENCIES.get(code), Some(name));
        }
        assert_eq!((PROVINCES.get(10), REGENCIES.get(1100)), (None, None));
    }

    #[test]
    fn papua_after_the_2022_split() {
        let cases = [
            (91, "Papua"),
            (92, "Papua Barat"),
            (93, "Papua Selatan"),
            (94, "Papua Tengah"),
            (95, "Papua Pegunungan"),
            (96, "Papua Barat Daya"),
        ];
        for (code, name) in cases {
            assert_eq!(province_name(code), Some(name));
        }
        let merauke = regency_name(9301).unwrap();
        assert_eq!(
            (merauke.name, merauke.moved_to),
            ("Kabupaten Merauke", None)
        );
        let old = regency_name(9101).unwrap();
        assert_eq!((old.name, old.moved_to), ("Kabupaten Merauke", Some(9301)));
        assert_eq!(regency_name(9271).unwrap().name, "Kota Sorong");
        assert_eq!(regency_name(9271).unwrap().moved_to, Some(9671));
        assert_eq!(regency_name(9103).unwrap().name, "Kabupaten Jayapura");
    }

    #[test]
    fn kemendagri_not_bps_codes() {
        assert!(regency_name(3171).unwrap().name.contains("Jakarta Pusat"));
        assert_eq!(regency_name(3273).unwrap().name, "Kota Bandung");
        assert_eq!(regency_name(3299), None);
    }
}
