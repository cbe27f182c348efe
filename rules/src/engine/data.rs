//! The values a transaction exposes to rules, and how a target reads them.
//!
//! [`TxData`] holds what the host and the body processors provide (request
//! line, headers, arguments, files, XML, response) and the scalars derived from
//! them. [`Stores`] holds the writable collections (TX, IP, ...). [`collect`]
//! turns one target into the list of (name, value) items a rule inspects.

use crate::variables::{Collection, Scalar, Selector, Store, Target, Var};
use std::borrow::Cow;


/// A keyed value (`ARGS:id=5`, `REQUEST_HEADERS:Host=...`).
#[derive(Clone, Debug, Default)]
pub struct Kv {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

impl Kv {
    pub fn new(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Kv {
        Kv { key: key.into(), value: value.into() }
    }
}

/// Request and response data, as the rules see it.
#[derive(Default)]
pub struct TxData {
    pub scalars: Vec<Option<Vec<u8>>>,
    pub args_get: Vec<Kv>,
    pub args_post: Vec<Kv>,
    pub request_headers: Vec<Kv>,
    pub request_cookies: Vec<Kv>,
    pub response_headers: Vec<Kv>,
    /// FILES: key = form field name, value = file name.
    pub files: Vec<Kv>,
    pub files_sizes: Vec<Kv>,
    pub files_tmp_content: Vec<Kv>,
    pub multipart_part_headers: Vec<Kv>,
    pub multipart_filename: Vec<Kv>,
    pub multipart_name: Vec<Kv>,
    /// `XML:/*`: the document's text content.
    pub xml_text: Vec<Vec<u8>>,
    /// `XML://@*`: every attribute (name, value).
    pub xml_attributes: Vec<Kv>,
    /// The parsed XML body, for other XPath selectors.
    pub xml: Option<crate::body::xml::XmlDocument>,
    pub env: Vec<Kv>,
    /// MATCHED_VARS of the current rule chain.
    pub matched_vars: Vec<MatchedVar>,
    /// RULE collection of the rule being evaluated (id, msg, ...).
    pub rule: Vec<Kv>,
}

impl TxData {
    pub fn new() -> TxData {
        TxData { scalars: vec![None; Scalar::ALL.len()], ..Default::default() }
    }

    pub fn scalar(&self, s: Scalar) -> Option<&[u8]> {
        self.scalars.get(s as usize).and_then(|v| v.as_deref())
    }

    pub fn set_scalar(&mut self, s: Scalar, v: impl Into<Vec<u8>>) {
        if let Some(slot) = self.scalars.get_mut(s as usize) {
            *slot = Some(v.into());
        }
    }


    fn list(&self, c: Collection) -> Option<&[Kv]> {
        use Collection::*;
        Some(match c {
            ArgsGet | ArgsGetNames => &self.args_get,
            ArgsPost | ArgsPostNames => &self.args_post,
            RequestHeaders | RequestHeadersNames => &self.request_headers,
            RequestCookies | RequestCookiesNames => &self.request_cookies,
            ResponseHeaders | ResponseHeadersNames => &self.response_headers,
            Files | FilesNames => &self.files,
            FilesSizes => &self.files_sizes,
            FilesTmpContent => &self.files_tmp_content,
            MultipartPartHeaders => &self.multipart_part_headers,
            MultipartFilename => &self.multipart_filename,
            MultipartName => &self.multipart_name,
            Env => &self.env,
            Rule => &self.rule,
            _ => return None,
        })
    }
}

/// A value a rule matched: MATCHED_VAR and MATCHED_VAR_NAME.
#[derive(Clone, Debug)]
pub struct MatchedVar {
    pub var: Var,
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
}

impl MatchedVar {
    /// `ARGS:id`, `REQUEST_URI`, ... as MATCHED_VAR_NAME shows it.
    pub fn name(&self) -> String {
        match &self.key {
            Some(k) => format!("{}:{}", self.var.name(), String::from_utf8_lossy(k)),
            None => self.var.name().to_string(),
        }
    }
}

/// One writable collection: case-insensitive keys (stored lowercased),
/// insertion order kept.
#[derive(Default, Clone)]
pub struct StoreMap {
    map: indexmap::IndexMap<Vec<u8>, Vec<u8>, rustc_hash::FxBuildHasher>,
}

impl StoreMap {
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        if key.iter().any(u8::is_ascii_uppercase) {
            self.map.get(&key.to_ascii_lowercase()).map(Vec::as_slice)
        } else {
            self.map.get(key).map(Vec::as_slice)
        }
    }

    pub fn set(&mut self, key: &[u8], value: Vec<u8>) {
        if key.iter().any(u8::is_ascii_uppercase) {
            self.map.insert(key.to_ascii_lowercase(), value);
        } else if let Some(slot) = self.map.get_mut(key) {
            *slot = value;
        } else {
            self.map.insert(key.to_vec(), value);
        }
    }

    pub fn remove(&mut self, key: &[u8]) {
        self.map.shift_remove(&key.to_ascii_lowercase());
    }

    /// Entries in insertion order.
    pub fn entries(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.map.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))
    }
}

/// TX and the persistent collections.
#[derive(Default, Clone)]
pub struct Stores {
    pub maps: [StoreMap; 6],
}

impl Stores {
    pub fn get(&self, s: Store) -> &StoreMap {
        &self.maps[s.index()]
    }
    pub fn get_mut(&mut self, s: Store) -> &mut StoreMap {
        &mut self.maps[s.index()]
    }
}

/// Where an item came from, for the per-transaction transformation cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    pub collection: u8,
    pub index: u32,
    pub is_key: bool,
}

/// The values one rule inspects; most rules see only a handful.
pub type Items<'a> = smallvec::SmallVec<[Item<'a>; 8]>;

/// One value a target produced.
pub struct Item<'a> {
    pub var: Var,
    /// The collection key, for `ARGS:key` naming and exclusions.
    pub key: Option<Cow<'a, [u8]>>,
    pub value: Cow<'a, [u8]>,
    /// Set for values that stay the same for the whole phase (cacheable).
    pub origin: Option<Origin>,
}


fn collection_code(c: Collection) -> u8 {
    use Collection::*;
    match c {
        ArgsGet | ArgsGetNames => 1,
        ArgsPost | ArgsPostNames => 2,
        RequestHeaders | RequestHeadersNames => 3,
        RequestCookies | RequestCookiesNames => 4,
        ResponseHeaders | ResponseHeadersNames => 5,
        Files | FilesNames => 6,
        FilesSizes => 7,
        MultipartPartHeaders => 8,
        MultipartFilename => 9,
        MultipartName => 10,
        Xml => 11,
        _ => 0,
    }
}

/// Collects the items of one (non-exclusion) target, skipping those removed by
/// `excluded`. Items from TX and other writable collections are copied, so the
/// caller may change the stores while using the result.
pub fn collect<'a>(
    t: &Target,
    data: &'a TxData,
    stores: &Stores,
    matched: Option<&MatchedVar>,
    excluded: &dyn Fn(Var, &[u8]) -> bool,
    out: &mut Items<'a>,
) {
    let start = out.len();
    match t.var {
        Var::Scalar(Scalar::MatchedVar) | Var::Scalar(Scalar::MatchedVarName) => {
            if let Some(m) = matched {
                let value = if t.var == Var::Scalar(Scalar::MatchedVar) { m.value.clone() } else { m.name().into_bytes() };
                out.push(Item { var: t.var, key: None, value: Cow::Owned(value), origin: None });
            }
        }
        Var::Collection(Collection::MatchedVars) | Var::Collection(Collection::MatchedVarsNames) => {
            let names = t.var == Var::Collection(Collection::MatchedVarsNames);
            for m in &data.matched_vars {
                let name = m.name();
                if t.selector.selects(name.as_bytes()) && !excluded(t.var, name.as_bytes()) {
                    let value = if names { Cow::Owned(name.clone().into_bytes()) } else { Cow::Borrowed(m.value.as_slice()) };
                    out.push(Item { var: t.var, key: Some(Cow::Owned(name.into_bytes())), value, origin: None });
                }
            }
        }
        Var::Scalar(s) => {
            if let Some(v) = data.scalar(s) {
                if !excluded(t.var, b"") {
                    out.push(Item { var: t.var, key: None, value: Cow::Borrowed(v), origin: scalar_origin(s) });
                }
            }
        }
        Var::Collection(Collection::Args) => {
            push_list(t, Collection::ArgsGet, Var::Collection(Collection::Args), &data.args_get, excluded, out);
            push_list(t, Collection::ArgsPost, Var::Collection(Collection::Args), &data.args_post, excluded, out);
        }
        Var::Collection(Collection::ArgsNames) => {
            push_names(t, Collection::ArgsGetNames, &data.args_get, excluded, out);
            push_names(t, Collection::ArgsPostNames, &data.args_post, excluded, out);
        }
        Var::Collection(Collection::Store(store)) => {
            if let Selector::Key(k) = &t.selector {
                if let Some(v) = stores.get(store).get(k.as_bytes()) {
                    if !excluded(t.var, k.as_bytes()) {
                        out.push(Item { var: t.var, key: Some(Cow::Owned(k.as_bytes().to_vec())), value: Cow::Owned(v.to_vec()), origin: None });
                    }
                }
            } else {
                for (k, v) in stores.get(store).entries() {
                    if t.selector.selects(k) && !excluded(t.var, k) {
                        out.push(Item { var: t.var, key: Some(Cow::Owned(k.to_vec())), value: Cow::Owned(v.to_vec()), origin: None });
                    }
                }
            }
        }
        Var::Collection(Collection::Xml) => {
            let xpath = match &t.selector {
                Selector::XPath(x) => x.as_str(),
                _ => "/*",
            };
            if xpath != "/*" && xpath != "//@*" {
                if let Some(values) = data.xml.as_ref().and_then(|d| d.select(xpath)) {
                    for v in values {
                        out.push(Item { var: t.var, key: Some(Cow::Owned(xpath.as_bytes().to_vec())), value: Cow::Owned(v.into_owned()), origin: None });
                    }
                }
            } else if xpath == "//@*" {
                for (i, kv) in data.xml_attributes.iter().enumerate() {
                    out.push(Item {
                        var: t.var,
                        key: Some(Cow::Owned(t.selector.describe().into_bytes())),
                        value: Cow::Borrowed(&kv.value),
                        origin: Some(Origin { collection: 11, index: i as u32, is_key: true }),
                    });
                }
            } else {
                for (i, v) in data.xml_text.iter().enumerate() {
                    out.push(Item {
                        var: t.var,
                        key: Some(Cow::Owned(t.selector.describe().into_bytes())),
                        value: Cow::Borrowed(v),
                        origin: Some(Origin { collection: 11, index: i as u32, is_key: false }),
                    });
                }
            }
        }
        Var::Collection(Collection::Geo) | Var::Collection(Collection::FilesTmpNames) => {}
        Var::Collection(c) => {
            let Some(list) = data.list(c) else { return };
            if c.is_names() {
                push_names(t, c, list, excluded, out);
            } else {
                push_list(t, c, t.var, list, excluded, out);
            }
        }
    }
    if t.count {
        let n = out.len() - start;
        out.truncate(start);
        out.push(Item { var: t.var, key: None, value: Cow::Owned(n.to_string().into_bytes()), origin: None });
    }
}

fn scalar_origin(s: Scalar) -> Option<Origin> {
    use Scalar::*;
    match s {
        MatchedVar | MatchedVarName | HighestSeverity | Duration | ReqbodyProcessor | ReqbodyError | ReqbodyErrorMsg => None,
        _ => Some(Origin { collection: 100, index: s as u32, is_key: false }),
    }
}

fn push_list<'a>(
    t: &Target,
    source: Collection,
    var: Var,
    list: &'a [Kv],
    excluded: &dyn Fn(Var, &[u8]) -> bool,
    out: &mut Items<'a>,
) {
    let code = collection_code(source);
    for (i, kv) in list.iter().enumerate() {
        if t.selector.selects(&kv.key) && !excluded(var, &kv.key) {
            out.push(Item {
                var,
                key: Some(Cow::Borrowed(&kv.key)),
                value: Cow::Borrowed(&kv.value),
                origin: (code != 0).then_some(Origin { collection: code, index: i as u32, is_key: false }),
            });
        }
    }
}

fn push_names<'a>(
    t: &Target,
    source: Collection,
    list: &'a [Kv],
    excluded: &dyn Fn(Var, &[u8]) -> bool,
    out: &mut Items<'a>,
) {
    let var = t.var;
    let code = collection_code(source);
    for (i, kv) in list.iter().enumerate() {
        if t.selector.selects(&kv.key) && !excluded(var, &kv.key) {
            out.push(Item {
                var,
                key: Some(Cow::Borrowed(&kv.key)),
                value: Cow::Borrowed(&kv.key),
                origin: (code != 0).then_some(Origin { collection: code, index: i as u32, is_key: true }),
            });
        }
    }
}

/// Reads one macro reference: a scalar, or the first value of a collection
/// whose key matches (case-insensitively).
pub fn lookup<'a>(data: &'a TxData, stores: &'a Stores, var: Var, key: Option<&str>) -> Option<Cow<'a, [u8]>> {
    match (var, key) {
        (Var::Scalar(s), _) => data.scalar(s).map(Cow::Borrowed),
        (Var::Collection(Collection::Store(s)), Some(k)) => stores.get(s).get(k.as_bytes()).map(Cow::Borrowed),
        (Var::Collection(Collection::Args), Some(k)) => data
            .args_get
            .iter()
            .chain(data.args_post.iter())
            .find(|kv| kv.key.eq_ignore_ascii_case(k.as_bytes()))
            .map(|kv| Cow::Borrowed(kv.value.as_slice())),
        (Var::Collection(c), Some(k)) => {
            let list = data.list(c)?;
            let kv = list.iter().find(|kv| kv.key.eq_ignore_ascii_case(k.as_bytes()))?;
            Some(Cow::Borrowed(if c.is_names() { &kv.key } else { &kv.value }))
        }
        (Var::Collection(_), None) => None,
    }
}
