//! Every string of the triage pages comes from a Fluent catalogue (`i18n/en.ftl`,
//! `i18n/km.ftl`), compiled into the binary. A test keeps the two catalogues holding the same
//! messages and every message a template asks for present.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// A language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Khmer.
    Km,
}

impl Lang {
    /// Every language, in the order the switch shows them.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Km];

    /// The BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Km => "km",
        }
    }

    /// The language's own name.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Km => "ខ្មែរ",
        }
    }

    /// Parses a tag.
    pub fn parse(s: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.tag() == s)
    }

    fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("../../i18n/en.ftl"),
            Lang::Km => include_str!("../../i18n/km.ftl"),
        }
    }
}

type Bundle = FluentBundle<FluentResource>;

fn bundles() -> &'static [Bundle; 2] {
    static B: OnceLock<[Bundle; 2]> = OnceLock::new();
    B.get_or_init(|| Lang::ALL.map(bundle))
}

fn bundle(lang: Lang) -> Bundle {
    // The catalogues are part of the source and checked by tests; a syntax error in one is a
    // build defect, and the entries that did parse are still used.
    let res = FluentResource::try_new(lang.source().to_string()).unwrap_or_else(|(res, _)| res);
    let id: unic_langid::LanguageIdentifier = lang.tag().parse().unwrap_or_default();
    let mut b = FluentBundle::new_concurrent(vec![id]);
    b.set_use_isolating(false);
    if let Err(errors) = b.add_resource(res) {
        tracing::error!(lang = lang.tag(), ?errors, "message catalogue has duplicate entries");
    }
    b
}

/// Translates for one language.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    /// The language.
    pub lang: Lang,
}

impl Tr {
    /// The message `id` (its id itself when missing, so a gap shows and never breaks a page).
    pub fn t(&self, id: &str) -> String {
        self.args(id, &[])
    }

    /// The message `id` with named arguments.
    pub fn args(&self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let b = &bundles()[self.lang as usize];
        let Some(pattern) = b.get_message(id).and_then(|m| m.value()) else {
            return id.to_string();
        };
        let mut fa = FluentArgs::new();
        for (k, v) in args {
            fa.set(*k, v.clone());
        }
        let mut errors = Vec::new();
        b.format_pattern(pattern, Some(&fa), &mut errors).into_owned()
    }

    /// The message `id` with one number `n`.
    pub fn n(&self, id: &str, n: i64) -> String {
        self.args(id, &[("n", FluentValue::from(n))])
    }
}

/// Message ids in a catalogue's source.
pub fn ids(source: &str) -> Vec<String> {
    source
        .lines()
        .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogues_parse_and_hold_the_same_messages() {
        for lang in Lang::ALL {
            if let Err((_, errors)) = FluentResource::try_new(lang.source().to_string()) {
                panic!("{} catalogue: {errors:?}", lang.tag());
            }
        }
        let mut en = ids(Lang::En.source());
        let mut km = ids(Lang::Km.source());
        assert!(en.len() > 50, "{}", en.len());
        en.sort();
        km.sort();
        let missing: Vec<_> = en.iter().filter(|i| !km.contains(i)).collect();
        let extra: Vec<_> = km.iter().filter(|i| !en.contains(i)).collect();
        assert!(missing.is_empty() && extra.is_empty(), "km lacks {missing:?}; km has extra {extra:?}");
        let mut dedup = en.clone();
        dedup.dedup();
        assert_eq!(dedup.len(), en.len(), "duplicate ids");
    }

    #[test]
    fn every_message_a_page_uses_exists() {
        let en = ids(Lang::En.source());
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut used = Vec::new();
        let mut files = Vec::new();
        let mut folders = vec![dir.join("templates"), dir.join("src/triage")];
        while let Some(folder) = folders.pop() {
            for e in std::fs::read_dir(folder).unwrap() {
                let path = e.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                } else if !path.ends_with("i18n.rs") {
                    files.push(path);
                }
            }
        }
        {
            for path in files {
                let text = std::fs::read_to_string(path).unwrap();
                for call in [".t(\"", ".n(\"", ".args(\""] {
                    for part in text.split(call).skip(1) {
                        if let Some(id) = part.split('"').next() {
                            used.push(id.to_string());
                        }
                    }
                }
            }
        }
        used.retain(|id| !id.is_empty() && !id.contains('{') && id != "id");
        assert!(used.len() > 40, "{}", used.len());
        let missing: Vec<_> = used.iter().filter(|id| !en.contains(id)).collect();
        assert!(missing.is_empty(), "messages used but not in the catalogues: {missing:?}");
    }

    #[test]
    fn translates_with_arguments_and_falls_back_to_the_id() {
        let en = Tr { lang: Lang::En };
        let km = Tr { lang: Lang::Km };
        assert_eq!(en.t("login-title"), "Sign in");
        assert_ne!(km.t("login-title"), en.t("login-title"));
        assert!(en.n("exposure-today", 3).contains('3'));
        assert_eq!(en.t("no-such-message"), "no-such-message");
    }
}
