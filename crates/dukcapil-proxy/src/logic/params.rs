//! Header parameters (`; name=value` lists), as RFC 2045 §5.1 and RFC 7578/2183 write them:
//! a value is a token or a quoted string, in which `;` and `=` are plain characters. Each name
//! may appear once. Used for `content-type` and multipart `content-disposition`.

/// More parameters than any real header carries are refused (and the duplicate check stays
/// cheap on a hostile 32 KB header).
pub const MAX_PARAMS: usize = 16;

/// Characters of an RFC 2045 token (`tspecials` and controls excluded).
fn is_token(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b)
}

/// Parses `; a=b; c="d; e"` (the part after the first value) into `(name, value)` pairs, names
/// lower-cased. `None` when it cannot be read, a name repeats, or there are more than
/// [`MAX_PARAMS`].
pub fn parse_params(mut s: &str) -> Option<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    loop {
        s = s.trim_start_matches([' ', '\t']);
        if s.is_empty() {
            return Some(out);
        }
        s = s.strip_prefix(';')?.trim_start_matches([' ', '\t']);
        if s.is_empty() {
            return Some(out); // a trailing `;` is tolerated, as browsers do
        }
        let name_len = s.bytes().take_while(|&b| is_token(b)).count();
        if name_len == 0 {
            return None;
        }
        let name = s[..name_len].to_ascii_lowercase();
        s = s[name_len..]
            .trim_start_matches([' ', '\t'])
            .strip_prefix('=')?;
        s = s.trim_start_matches([' ', '\t']);
        let value = if let Some(rest) = s.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = rest.char_indices();
            let end = loop {
                match chars.next()? {
                    (i, '"') => break i,
                    (_, '\\') => value.push(chars.next()?.1),
                    (_, c) if c.is_control() && c != '\t' => return None,
                    (_, c) => value.push(c),
                }
            };
            s = &rest[end + 1..];
            value
        } else {
            let len = s.bytes().take_while(|&b| is_token(b)).count();
            if len == 0 {
                return None;
            }
            let value = s[..len].to_string();
            s = &s[len..];
            value
        };
        if out.len() == MAX_PARAMS || out.iter().any(|(n, _)| *n == name) {
            return None;
        }
        out.push((name, value));
    }
}

/// The value of `name` (lower case) among parsed parameters.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(s: &str) -> Option<Vec<(&'static str, String)>> {
        parse_params(s).map(|v| {
            v.into_iter()
                .map(|(n, v)| (&*Box::leak(n.into_boxed_str()), v))
                .collect()
        })
    }

    #[test]
    fn quoted_values_hide_separators() {
        type Pairs = Option<&'static [(&'static str, &'static str)]>;
        let cases: &[(&str, Pairs)] = &[
            ("", Some(&[])),
            ("; name=id", Some(&[("name", "id")])),
            (
                r#"; filename="x; name=id; y"; name="image""#,
                Some(&[("filename", "x; name=id; y"), ("name", "image")]),
            ),
            (r#"; NAME="a\"b""#, Some(&[("name", "a\"b")])),
            ("; charset=UTF-8;", Some(&[("charset", "UTF-8")])),
            (" ;  boundary = abc ", Some(&[("boundary", "abc")])),
            // A name may appear once, whatever its case.
            ("; name=a; name=b", None),
            ("; name=a; NAME=b", None),
            (r#"; name="unterminated"#, None),
            ("; =x", None),
            ("; name", None),
            ("; name=", None),
            ("; name=a b", None),
            ("garbage", None),
            ("; name=\"a\u{1}\"", None),
        ];
        let many: String = (0..=MAX_PARAMS).map(|i| format!("; p{i}=1")).collect();
        assert_eq!(parse_params(&many), None);
        assert_eq!(
            parse_params(&many[many.find("; p1=").unwrap()..]).map(|p| p.len()),
            Some(MAX_PARAMS)
        );
        for (text, want) in cases {
            let want = want.map(|w| {
                w.iter()
                    .map(|(n, v)| (*n, v.to_string()))
                    .collect::<Vec<_>>()
            });
            assert_eq!(pairs(text), want, "{text}");
        }
    }
}
