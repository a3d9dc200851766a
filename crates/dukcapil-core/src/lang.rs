//! The two languages every human-facing message comes in.

/// Language of a human-facing message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// Bahasa Indonesia, the default for end users.
    #[default]
    Id,
    /// English.
    En,
}

impl Lang {
    /// Reads a BCP 47 tag loosely: anything starting with `en` is English, all else Indonesian.
    pub fn from_tag(tag: &str) -> Lang {
        let t = tag.trim().as_bytes();
        if t.len() >= 2 && t[..2].eq_ignore_ascii_case(b"en") {
            Lang::En
        } else {
            Lang::Id
        }
    }

    /// Picks the text for this language.
    pub fn pick<'a>(self, id: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Id => id,
            Lang::En => en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_starting_with_en_are_english() {
        for (tag, lang) in [
            ("en", Lang::En),
            ("EN-us", Lang::En),
            (" en-GB ", Lang::En),
            ("english", Lang::En),
            ("id", Lang::Id),
            ("id-ID", Lang::Id),
            ("e", Lang::Id),
            ("", Lang::Id),
            ("fr", Lang::Id),
            ("ne", Lang::Id),
        ] {
            assert_eq!(Lang::from_tag(tag), lang, "{tag:?}");
        }
        assert_eq!(Lang::En.pick("ya", "yes"), "yes");
        assert_eq!(Lang::Id.pick("ya", "yes"), "ya");
    }
}
