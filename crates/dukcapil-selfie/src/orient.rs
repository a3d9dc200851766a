//! EXIF orientation: a bounds-checked reader of the one tag we need, and the 8 transforms.
//!
//! A hand-written reader instead of an EXIF crate: we need one SHORT from IFD0, and every
//! byte of wasm counts. It only ever indexes with `get`, so hostile EXIF cannot panic it.

/// Reads tag 0x0112 (Orientation) from IFD0 of a TIFF block (the APP1 payload after
/// `Exif\0\0`). Anything missing, malformed or out of range gives 1 (as stored).
pub(crate) fn exif_orientation(tiff: &[u8]) -> u8 {
    read_orientation(tiff).unwrap_or(1)
}

fn read_orientation(tiff: &[u8]) -> Option<u8> {
    let big_endian = match tiff.get(..4)? {
        [b'I', b'I', 42, 0] => false,
        [b'M', b'M', 0, 42] => true,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b = tiff.get(at..at.checked_add(2)?)?;
        let b = [b[0], b[1]];
        Some(if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b = tiff.get(at..at.checked_add(4)?)?;
        let b = [b[0], b[1], b[2], b[3]];
        Some(if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let ifd0 = usize::try_from(u32_at(4)?).ok()?;
    let count = usize::from(u16_at(ifd0)?);
    // Each entry is 12 bytes; the loop stops at the end of the data whatever `count` claims.
    for i in 0..count {
        let entry = ifd0.checked_add(2)?.checked_add(i.checked_mul(12)?)?;
        let tag = u16_at(entry)?;
        if tag != 0x0112 {
            continue;
        }
        let kind = u16_at(entry + 2)?;
        let value = match kind {
            3 => u16_at(entry + 8)?,                      // SHORT, the standard type
            4 => u16::try_from(u32_at(entry + 8)?).ok()?, // LONG, seen in the wild
            _ => return None,
        };
        return u8::try_from(value).ok().filter(|v| (1..=8).contains(v));
    }
    None
}

/// Width and height once `orientation` is applied (5–8 swap them).
#[cfg(feature = "decoders")]
pub(crate) fn oriented_size(width: u32, height: u32, orientation: u8) -> (u32, u32) {
    if orientation >= 5 {
        (height, width)
    } else {
        (width, height)
    }
}

#[cfg(feature = "decoders")]
/// Applies an EXIF orientation to an RGBA image of `width × height` (`rgba.len()` must be
/// `width * height * 4`, which every caller guarantees). Returns the displayed image.
pub(crate) fn apply_orientation(rgba: &[u8], width: u32, height: u32, orientation: u8) -> Vec<u8> {
    let (w, h) = (i64::from(width), i64::from(height));
    let (dw, dh) = oriented_size(width, height, orientation);
    // Source index of displayed pixel (0, y), and the step per displayed x.
    let (start, step): (fn(i64, i64, i64) -> i64, i64) = match orientation {
        2 => (|y, w, _| y * w + w - 1, -1),
        3 => (|y, w, h| (h - 1 - y) * w + w - 1, -1),
        4 => (|y, w, h| (h - 1 - y) * w, 1),
        5 => (|y, _, _| y, w),
        6 => (|y, w, h| (h - 1) * w + y, -w),
        7 => (|y, w, h| (h - 1) * w + w - 1 - y, -w),
        8 => (|y, w, _| w - 1 - y, w),
        _ => (|y, w, _| y * w, 1),
    };
    let mut out = vec![0u8; rgba.len()];
    let rows = out.chunks_exact_mut(dw as usize * 4).take(dh as usize);
    for (y, row) in (0i64..).zip(rows) {
        let mut src = start(y, w, h);
        for px in row.chunks_exact_mut(4) {
            let at = (src as usize) * 4;
            if let Some(s) = rgba.get(at..at + 4) {
                px.copy_from_slice(s);
            }
            src += step;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiff(big_endian: bool, entries: &[(u16, u16, u32)]) -> Vec<u8> {
        let mut t = Vec::new();
        let p16 = |t: &mut Vec<u8>, v: u16| {
            t.extend_from_slice(&if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            })
        };
        let p32 = |t: &mut Vec<u8>, v: u32| {
            t.extend_from_slice(&if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            })
        };
        t.extend_from_slice(if big_endian { b"MM" } else { b"II" });
        p16(&mut t, 42);
        p32(&mut t, 8);
        p16(&mut t, entries.len() as u16);
        for &(tag, kind, value) in entries {
            p16(&mut t, tag);
            p16(&mut t, kind);
            p32(&mut t, 1);
            if kind == 3 {
                p16(&mut t, value as u16);
                p16(&mut t, 0);
            } else {
                p32(&mut t, value);
            }
        }
        p32(&mut t, 0);
        t
    }

    #[test]
    fn reads_orientation_in_both_byte_orders() {
        for be in [false, true] {
            for o in 1..=8u32 {
                let t = tiff(be, &[(0x010F, 2, 0), (0x0112, 3, o)]);
                assert_eq!(exif_orientation(&t), o as u8);
            }
            assert_eq!(exif_orientation(&tiff(be, &[(0x0112, 4, 6)])), 6);
            assert_eq!(exif_orientation(&tiff(be, &[(0x0112, 3, 9)])), 1);
            assert_eq!(exif_orientation(&tiff(be, &[(0x0112, 3, 0)])), 1);
            assert_eq!(exif_orientation(&tiff(be, &[(0x0112, 2, 6)])), 1);
            assert_eq!(exif_orientation(&tiff(be, &[])), 1);
        }
    }

    #[test]
    fn hostile_exif_gives_one() {
        let good = tiff(false, &[(0x0112, 3, 6)]);
        for cut in 0..good.len() {
            let o = exif_orientation(&good[..cut]);
            assert!(o == 1 || cut >= 18, "cut {cut} gave {o}");
        }
        // IFD offset and entry count pointing far past the end.
        let mut far = good.clone();
        far[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(exif_orientation(&far), 1);
        let mut many = good.clone();
        many[8..10].copy_from_slice(&u16::MAX.to_le_bytes());
        many.truncate(10);
        assert_eq!(exif_orientation(&many), 1);
        // A huge block of entries that are not orientation: bounded work, no panic.
        let mut huge = tiff(true, &vec![(0x9999, 3, 1); 5000]);
        huge.resize(65_533, 0xFF);
        assert_eq!(exif_orientation(&huge), 1);
        assert_eq!(exif_orientation(b""), 1);
        assert_eq!(exif_orientation(b"II*\0"), 1);
    }

    #[cfg(feature = "decoders")]
    #[test]
    fn transforms_a_2x3_image() {
        // Pixels numbered 0..6, row-major, 2 wide and 3 high.
        let src: Vec<u8> = (0..6u8).flat_map(|i| [i, 0, 0, 255]).collect();
        let ids = |v: Vec<u8>| v.chunks(4).map(|p| p[0]).collect::<Vec<_>>();
        let cases: [(u8, &[u8]); 8] = [
            (1, &[0, 1, 2, 3, 4, 5]),
            (2, &[1, 0, 3, 2, 5, 4]),
            (3, &[5, 4, 3, 2, 1, 0]),
            (4, &[4, 5, 2, 3, 0, 1]),
            (5, &[0, 2, 4, 1, 3, 5]),
            (6, &[4, 2, 0, 5, 3, 1]),
            (7, &[5, 3, 1, 4, 2, 0]),
            (8, &[1, 3, 5, 0, 2, 4]),
        ];
        for (o, want) in cases {
            assert_eq!(
                ids(apply_orientation(&src, 2, 3, o)),
                want,
                "orientation {o}"
            );
        }
    }
}
