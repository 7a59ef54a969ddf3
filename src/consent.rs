//! Consent records: Kantara Initiative Consent Receipt Specification v1.1, read as consent
//! platforms actually write them.
//!
//! Field names in JSON are those of the Kantara specification (`consentReceiptID`,
//! `piiPrincipalId`, `piiControllers`, `services[].purposes[]`, `sensitive`, `spiCat`, ...).
//! fidex adds two optional fields the specification leaves to extensions: `policyVersion`
//! and `expiresAt` (unix seconds).
//!
//! # Accepted shapes
//!
//! [`ConsentReceipt::from_json`] reads a v1.1 receipt (`version` `KI-CR-v1.1.x`) and keeps
//! everything in it:
//!
//! - `piiControllers[].address`: a postal-address object as v1.1 specifies (e.g.
//!   `{"streetAddress": …, "addressCountry": …}`, WSO2 adds `addressLocality`,
//!   `postalCode`, …), kept exactly as given; free text (older receipts) is also accepted.
//! - `piiControllers[].onBehalf` (true/false) and `piiControllerUrl`; `publicKey`.
//! - `purposeCategory`: a list of texts, or a single text (some generators write one).
//! - `piiCategory`: a list of texts (the specification) or of objects (WSO2 Identity Server
//!   writes `{"piiCategory"|"piiCategoryName": …, "piiCategoryId": …, "validity": …}`),
//!   kept as given.
//! - `spiCat`: texts. An entry names biometric data when one of its words (split at anything
//!   that is not a letter or digit, case ignored) is `biometric` or `biometrics` and the word
//!   before it is not `non`, `not` or `no`: `"Biometric data"`, `"biometric"`,
//!   `"BIOMETRICS"`, `"3 - Biometric"` all count.
//! - `consentType`: `EXPLICIT` in any letter case.
//! - `null` for an optional field (WSO2 writes `"publicKey": null`, `"spiCat": null`) is the
//!   same as leaving it out. `policyURL` and `piiControllerURL` (spellings some generators
//!   use) are read as `policyUrl` and `piiControllerUrl`.
//! - Every field fidex does not know, at every level (receipt, controller, service, purpose,
//!   address, PII category), is kept in the `extra` maps and written back by
//!   [`ConsentReceipt::to_json`].
//!
//! fidex writes receipts in the specification's form: the spelling `policyUrl`, lists for
//! `purposeCategory`, optional fields that were `null` left out, and `consentTimestamp` in
//! seconds.
//!
//! # Timestamps
//!
//! `consentTimestamp` is an integer number of seconds since 1970-01-01 UTC, as v1.1
//! specifies. Some platforms write milliseconds (WSO2 Identity Server's receipt API answers
//! `"consentTimestamp": 1517742624682`), so an integer of [`MILLIS_FROM`]
//! (100,000,000,000) or more is read as milliseconds and stored as whole seconds (rounded
//! down). This is unambiguous: as seconds such a value would be after the year 5138, as
//! milliseconds a smaller value would be before 1973-03-03, before any consent receipt
//! existed. Integers of 10^14 or more are refused. Date strings (`"2026-03-15T10:00:00Z"`),
//! fractions and text are refused with a message asking for the number of seconds.
//! `expiresAt`, fidex's own field, is always seconds.
//!
//! # Kantara v1.0 receipts
//!
//! Refused, with a message naming the version. A v1.0 receipt (`KI-CR-v1.0.0`, or an
//! earlier draft with fields such as `subject`/`sub`, `dataController`, `serviceName`,
//! `purposeTermination`, `nonCorePurpose`, `iat`, `jti`) is a different record: its
//! implementations disagree on names and types (a timestamp as text or as `iat`,
//! `nonCorePurpose` meaning the opposite of `primaryPurpose`, the controller as `org` or
//! `company`), and rewriting it into v1.1 would store something the subject was never
//! given. Ask the consent platform for a v1.1 receipt of the consent (or collect it again).
//!
//! # How a search purpose is matched
//!
//! A vault purpose `P` (e.g. `authentication`) is covered by a purpose entry `E` of the
//! receipt iff `E.consentType` is explicit and `fold(P)` equals `fold(E.purpose)` or `fold`
//! of any item of `E.purposeCategory`, where `fold` ([`fold`]) trims, lower-cases (Unicode)
//! and collapses every run of whitespace inside to one space. There is no fuzzy or partial
//! matching: `"Authentication"` and `" authentication "` cover `authentication`; `"face
//! authentication"` and `"2 - Contracted Service"` do not. Free-text purposes ("To let you
//! log in with your face") match nothing; put the vault's purpose name in `purposeCategory`.
//! [`ConsentReceipt::covers`] applies the rule, [`ConsentReceipt::covered_purposes`] lists
//! the vault purposes a receipt covers; a template is searchable for exactly those.
//!
//! # What enrollment requires
//!
//! [`ConsentReceipt::validate`]: version `KI-CR-v1.1.x`; non-empty `consentReceiptID`,
//! `jurisdiction`, `collectionMethod`, `piiPrincipalId`; at least one controller, each named;
//! an http(s) `policyUrl`; at least one purpose, each named and each with explicit consent
//! (the receipt marks its data sensitive as a whole, so fidex does not accept it with any
//! purpose on weaker consent); `sensitive: true`; a biometric `spiCat` entry;
//! `consentTimestamp` > 0 and at most 300 s in the future; `expiresAt`, if given, after the
//! consent and not passed. [`ConsentReceipt::validate_for`] adds what
//! [`crate::Vault::enroll`] adds: at least one of the vault's purposes covered. It returns
//! exactly what enrollment would: the same error, or the purposes the template is enrolled
//! for.

#![forbid(unsafe_code)]

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The Kantara specification version string fidex writes by default.
pub const KANTARA_VERSION: &str = "KI-CR-v1.1.0";

/// The purpose a login flow uses for 1:1 verification.
pub const PURPOSE_AUTHENTICATION: &str = "authentication";
/// The purpose for 1:N identification.
pub const PURPOSE_IDENTIFICATION: &str = "identification";

/// Largest accepted consent JSON (bytes).
pub const MAX_CONSENT_JSON: usize = 64 * 1024;

/// Smallest `consentTimestamp` read as milliseconds (see the module documentation).
pub const MILLIS_FROM: i64 = 100_000_000_000;
/// `consentTimestamp` values from here on are refused.
const MILLIS_UNTIL: i64 = 100_000_000_000_000;

/// Tolerated clock skew for consent timestamps in the future (seconds).
const CLOCK_SKEW: i64 = 300;

/// A consent receipt (Kantara CR v1.1).
///
/// ```
/// use fidex::ConsentReceipt;
/// let c = ConsentReceipt::explicit("user-42", "Acme Login", "https://acme.example/privacy",
///                                  &["authentication"], 1_700_000_000).unwrap();
/// let json = c.to_json();
/// let back = ConsentReceipt::from_json(&json).unwrap();
/// assert_eq!(back, c);
/// assert!(back.covers("authentication"));
/// assert!(!back.covers("identification"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentReceipt {
    /// Specification version, e.g. `KI-CR-v1.1.0`.
    pub version: String,
    /// Jurisdiction of the controller, e.g. `US-IL` or `EU`.
    pub jurisdiction: String,
    /// When consent was given, unix seconds (`consentTimestamp`).
    pub consent_timestamp: i64,
    /// How consent was collected, e.g. `web form, explicit checkbox`.
    pub collection_method: String,
    /// Unique id of this receipt (`consentReceiptID`).
    pub consent_receipt_id: String,
    /// Public key of the receipt issuer, if any.
    pub public_key: Option<String>,
    /// Language of the receipt.
    pub language: Option<String>,
    /// The data subject's reference in the controller's system (pseudonymous is best).
    pub pii_principal_id: String,
    /// The controllers (at least one).
    pub pii_controllers: Vec<PiiController>,
    /// URL of the privacy policy the subject agreed to.
    pub policy_url: String,
    /// Version of that policy (fidex extension).
    pub policy_version: Option<String>,
    /// Services and their purposes.
    pub services: Vec<Service>,
    /// Whether sensitive data is processed (must be `true` for biometrics).
    pub sensitive: bool,
    /// Sensitive categories (must name biometric data).
    pub spi_cat: Vec<String>,
    /// Consent expiry, unix seconds (fidex extension).
    pub expires_at: Option<i64>,
    /// Fields fidex does not interpret, kept as given (e.g. WSO2's `tenantDomain`, `state`).
    pub extra: Map<String, Value>,
}

/// A data controller named on the receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PiiController {
    /// Controller name (`piiController`).
    pub pii_controller: String,
    /// Whether this party acts on behalf of a controller (`onBehalf`).
    pub on_behalf: Option<bool>,
    /// Contact person or role.
    pub contact: Option<String>,
    /// Postal address.
    pub address: Option<Address>,
    /// Contact e-mail.
    pub email: Option<String>,
    /// Contact phone.
    pub phone: Option<String>,
    /// Controller website (`piiControllerUrl`).
    pub pii_controller_url: Option<String>,
    /// Fields fidex does not interpret, kept as given.
    pub extra: Map<String, Value>,
}

/// A controller's postal address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// Free text (older receipts).
    Text(String),
    /// The v1.1 form: an object of schema.org `PostalAddress` fields (`streetAddress`,
    /// `addressLocality`, `addressRegion`, `postalCode`, `postOfficeBoxNumber`,
    /// `addressCountry`, ...), kept exactly as given.
    Postal(Map<String, Value>),
}

/// A service and the purposes consented to for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// Service name.
    pub service: String,
    /// Purposes.
    pub purposes: Vec<Purpose>,
    /// Fields fidex does not interpret, kept as given (e.g. WSO2's `serviceDisplayName`).
    pub extra: Map<String, Value>,
}

/// One purpose of processing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purpose {
    /// What the data is used for, often free text. A vault purpose matches it only if it is
    /// the same words (see the module documentation).
    pub purpose: String,
    /// Purpose categories, e.g. `["authentication"]` or `["1 - Core Function"]`; a vault
    /// purpose matches any of them.
    pub purpose_category: Vec<String>,
    /// Must be `EXPLICIT` (any case) for biometric data.
    pub consent_type: String,
    /// Categories of personal data, as texts or as objects (WSO2).
    pub pii_category: Vec<PiiCategory>,
    /// Whether this is a primary purpose.
    pub primary_purpose: Option<bool>,
    /// When processing for this purpose ends, in words.
    pub termination: Option<String>,
    /// Whether data is disclosed to third parties.
    pub third_party_disclosure: Option<bool>,
    /// Third party name, if disclosed.
    pub third_party_name: Option<String>,
    /// Fields fidex does not interpret, kept as given (e.g. WSO2's `purposeId`).
    pub extra: Map<String, Value>,
}

/// One category of personal data of a purpose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PiiCategory {
    /// A name, e.g. `"1 - Biographical"` (the specification's form).
    Name(String),
    /// An object, e.g. WSO2's `{"piiCategoryName": "email", "piiCategoryId": 1,
    /// "validity": "days:30"}`, kept exactly as given.
    Record(Map<String, Value>),
}

impl PiiCategory {
    /// The category's name: the text, or an object's `piiCategoryName`, `piiCategory` or
    /// `piiCategoryDisplayName`.
    pub fn name(&self) -> Option<&str> {
        match self {
            PiiCategory::Name(s) => Some(s),
            PiiCategory::Record(m) => ["piiCategoryName", "piiCategory", "piiCategoryDisplayName"]
                .iter()
                .find_map(|k| m.get(*k).and_then(Value::as_str)),
        }
    }
}

/// The normal form purposes are compared in: trimmed, lower-cased (Unicode), every run of
/// whitespace inside collapsed to one space.
///
/// ```
/// assert_eq!(fidex::consent::fold("  Face\t\tLOGIN "), "face login");
/// ```
pub fn fold(s: &str) -> String {
    s.to_lowercase().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The characters of [`fold`]`(s)`, without allocating.
fn folded(s: &str) -> impl Iterator<Item = char> + '_ {
    let mut words = s.split_whitespace();
    let first = words.next();
    first
        .into_iter()
        .flat_map(|w| w.chars().flat_map(char::to_lowercase))
        .chain(words.flat_map(|w| std::iter::once(' ').chain(w.chars().flat_map(char::to_lowercase))))
}

/// `fold(a) == fold(b)`, without allocating (purpose matching runs for every enrollment).
fn fold_eq(a: &str, b: &str) -> bool {
    folded(a).eq(folded(b))
}

fn is_explicit(consent_type: &str) -> bool {
    consent_type.trim().eq_ignore_ascii_case("explicit")
}

/// Whether an `spiCat` entry names biometric data (see the module documentation).
fn names_biometric(category: &str) -> bool {
    let lower = category.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    words.iter().enumerate().any(|(i, w)| {
        (*w == "biometric" || *w == "biometrics") && !(i > 0 && matches!(words[i - 1], "non" | "not" | "no"))
    })
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidConsent(msg.into())
}

/// A value in a message: its kind, and a short quote of texts and numbers.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the text {}", quote(s)),
        Value::Array(a) => format!("a list of {} item{}", a.len(), if a.len() == 1 { "" } else { "s" }),
        Value::Object(_) => "an object".into(),
    }
}

fn quote(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() > MAX {
        let cut: String = s.chars().take(MAX).collect();
        format!("{:?}…", cut)
    } else {
        format!("{s:?}")
    }
}

/// Field names of Kantara v1.0 and its drafts that v1.1 renamed, with the v1.1 name.
const V1_0_NAMES: &[(&str, &str)] = &[
    ("subject", "piiPrincipalId"),
    ("sub", "piiPrincipalId"),
    ("dataController", "piiControllers"),
    ("data_controller", "piiControllers"),
    ("policyUri", "policyUrl"),
    ("policy_uri", "policyUrl"),
    ("iat", "consentTimestamp"),
    ("jti", "consentReceiptID"),
    ("moc", "collectionMethod"),
    ("serviceName", "service"),
    ("service_name", "service"),
    ("purposeTermination", "termination"),
    ("nonCorePurpose", "primaryPurpose"),
];

/// A v1.0 field name in `map`, looking one level into `services[]` and their `purposes[]`.
fn v1_0_marker(map: &Map<String, Value>) -> Option<&'static str> {
    let at = |m: &Map<String, Value>| V1_0_NAMES.iter().map(|(old, _)| *old).find(|k| m.contains_key(*k));
    if let Some(k) = at(map) {
        return Some(k);
    }
    let services = map.get("services").and_then(Value::as_array)?;
    for s in services.iter().filter_map(Value::as_object) {
        if let Some(k) = at(s) {
            return Some(k);
        }
        for p in s.get("purposes").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object) {
            if let Some(k) = at(p) {
                return Some(k);
            }
        }
    }
    None
}

fn v1_0_refusal(version: Option<&str>, marker: Option<&str>) -> Error {
    let what = match (version, marker) {
        (Some(v), Some(m)) => format!("version {}, field '{m}'", quote(v)),
        (Some(v), None) => format!("version {}", quote(v)),
        (None, Some(m)) => format!("no version, field '{m}'"),
        (None, None) => "no version".into(),
    };
    invalid(format!(
        "this is a Kantara Consent Receipt v1.0 (or earlier draft) receipt ({what}); fidex reads v1.1 receipts \
         (\"version\": \"{KANTARA_VERSION}\") only. v1.0 receipts are not converted: their fields were renamed and \
         retyped in v1.1 (subject → piiPrincipalId, dataController → piiControllers, serviceName → service, \
         purposeTermination → termination, ...) and a rewritten receipt is not the record the subject was given. \
         Ask the consent platform for a v1.1 receipt of this consent, or collect consent again"
    ))
}

/// The fields of one JSON object being read, with its path for messages.
struct Fields {
    at: String,
    map: Map<String, Value>,
}

impl Fields {
    fn new(at: String, v: Value, what: &str) -> Result<Fields> {
        match v {
            Value::Object(map) => Ok(Fields { at, map }),
            other => Err(invalid(format!(
                "{} must be an object ({what}); found {}",
                if at.is_empty() { "a consent receipt" } else { &at },
                describe(&other)
            ))),
        }
    }

    fn name(&self, key: &str) -> String {
        if self.at.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.at)
        }
    }

    /// Removes `key`; `null` counts as absent.
    fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key).filter(|v| !v.is_null())
    }

    /// Removes `key` or its alternative spelling `alias` (both given is an error).
    fn take_either(&mut self, key: &str, alias: &str) -> Result<Option<Value>> {
        match (self.take(key), self.take(alias)) {
            (Some(_), Some(_)) => Err(invalid(format!(
                "{} and {} are both given; they are the same field: keep one",
                self.name(key),
                self.name(alias)
            ))),
            (a, b) => Ok(a.or(b)),
        }
    }

    fn missing(&self, key: &str, what: &str) -> Error {
        let old = V1_0_NAMES.iter().find(|(o, new)| *new == key && self.map.contains_key(*o)).map(|(o, _)| *o);
        match old {
            Some(o) => invalid(format!(
                "{} is missing ({what}); this object has '{o}', its Kantara v1.0 name: fidex reads v1.1 receipts \
                 only, ask the consent platform for a v1.1 receipt",
                self.name(key)
            )),
            None => invalid(format!("{} is missing: a Kantara v1.1 receipt gives {what}", self.name(key))),
        }
    }

    fn wrong(&self, key: &str, expected: &str, found: &Value) -> Error {
        invalid(format!("{} must be {expected}; found {}", self.name(key), describe(found)))
    }

    fn text_value(&self, key: &str, v: Value) -> Result<String> {
        match v {
            Value::String(s) => Ok(s),
            other => Err(self.wrong(key, "text", &other)),
        }
    }

    fn text(&mut self, key: &str, what: &str) -> Result<String> {
        match self.take(key) {
            Some(v) => self.text_value(key, v),
            None => Err(self.missing(key, what)),
        }
    }

    fn opt_text(&mut self, key: &str) -> Result<Option<String>> {
        self.take(key).map(|v| self.text_value(key, v)).transpose()
    }

    fn bool_value(&self, key: &str, v: Value) -> Result<bool> {
        match v {
            Value::Bool(b) => Ok(b),
            other => Err(self.wrong(key, "true or false (without quotes)", &other)),
        }
    }

    fn opt_bool(&mut self, key: &str) -> Result<Option<bool>> {
        self.take(key).map(|v| self.bool_value(key, v)).transpose()
    }

    /// A list of texts, or one text; absent or `null` is empty.
    fn texts(&mut self, key: &str) -> Result<Vec<String>> {
        match self.take(key) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(vec![s]),
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s),
                    other => Err(self.wrong(&format!("{key}[{i}]"), "text", &other)),
                })
                .collect(),
            Some(other) => Err(self.wrong(key, "a list of texts", &other)),
        }
    }

    /// A required list; each item with its path.
    fn list(&mut self, key: &str, what: &str) -> Result<Vec<(String, Value)>> {
        match self.take(key) {
            Some(Value::Array(items)) => {
                let base = self.name(key);
                Ok(items.into_iter().enumerate().map(|(i, v)| (format!("{base}[{i}]"), v)).collect())
            }
            Some(other) => Err(self.wrong(key, &format!("a list ({what})"), &other)),
            None => Err(self.missing(key, what)),
        }
    }
}

fn timestamp_seconds(f: &Fields, key: &str, v: Value) -> Result<i64> {
    let expected = "a whole number of seconds since 1970-01-01 UTC, as Kantara v1.1 specifies \
                    (e.g. 1510592400 for 2017-11-13 17:00 UTC)";
    match &v {
        Value::Number(n) => match n.as_i64() {
            Some(t) if t >= MILLIS_UNTIL => Err(invalid(format!(
                "{} is {t}: larger than any date in seconds or milliseconds since 1970; send {expected}",
                f.name(key)
            ))),
            Some(t) if t >= MILLIS_FROM => Ok(t.div_euclid(1000)),
            Some(t) => Ok(t),
            None if n.is_u64() => Err(invalid(format!(
                "{} is {n}: larger than any date in seconds or milliseconds since 1970; send {expected}",
                f.name(key)
            ))),
            None => Err(f.wrong(key, expected, &v)),
        },
        Value::String(_) => Err(invalid(format!(
            "{} must be {expected}; found {}. Send the number, not a date text",
            f.name(key),
            describe(&v)
        ))),
        _ => Err(f.wrong(key, expected, &v)),
    }
}

impl ConsentReceipt {
    /// Builds a minimal explicit-consent receipt for biometric data, with a random receipt
    /// id, and checks it with [`ConsentReceipt::validate`] at the system clock's time: it
    /// never returns a receipt `validate` refuses. Fill in the controller's details
    /// (`contact`, `address`, ...) before production use.
    ///
    /// Refused with [`Error::InvalidConsent`]: an empty `subject` or `controller`, a
    /// `policy_url` that is not http(s), no purposes or an empty one, a `consent_timestamp`
    /// ≤ 0 or more than 300 s in the future.
    pub fn explicit(
        subject: &str,
        controller: &str,
        policy_url: &str,
        purposes: &[&str],
        consent_timestamp: i64,
    ) -> Result<ConsentReceipt> {
        Self::explicit_at(subject, controller, policy_url, purposes, consent_timestamp, SystemClock.now())
    }

    /// [`ConsentReceipt::explicit`], validated at `now` (unix seconds) instead of the system
    /// clock's time.
    pub fn explicit_at(
        subject: &str,
        controller: &str,
        policy_url: &str,
        purposes: &[&str],
        consent_timestamp: i64,
        now: i64,
    ) -> Result<ConsentReceipt> {
        let c = ConsentReceipt {
            version: KANTARA_VERSION.into(),
            jurisdiction: "US-IL".into(),
            consent_timestamp,
            collection_method: "explicit opt-in before face capture".into(),
            consent_receipt_id: uuid::Uuid::new_v4().to_string(),
            public_key: None,
            language: Some("en".into()),
            pii_principal_id: subject.into(),
            pii_controllers: vec![PiiController {
                pii_controller: controller.into(),
                on_behalf: None,
                contact: None,
                address: Some(Address::Postal(Map::new())),
                email: None,
                phone: None,
                pii_controller_url: None,
                extra: Map::new(),
            }],
            policy_url: policy_url.into(),
            policy_version: None,
            services: vec![Service {
                service: "face login".into(),
                purposes: purposes
                    .iter()
                    .map(|p| Purpose {
                        purpose: (*p).into(),
                        purpose_category: vec!["Core Function".into()],
                        consent_type: "EXPLICIT".into(),
                        pii_category: vec![PiiCategory::Name("biometric template".into())],
                        primary_purpose: Some(true),
                        termination: Some("on withdrawal or after the retention period".into()),
                        third_party_disclosure: Some(false),
                        third_party_name: None,
                        extra: Map::new(),
                    })
                    .collect(),
                extra: Map::new(),
            }],
            sensitive: true,
            spi_cat: vec!["biometric".into()],
            expires_at: None,
            extra: Map::new(),
        };
        c.validate(now)?;
        Ok(c)
    }

    /// Parses receipt JSON (see the module documentation for the shapes read). Empty text
    /// or `null` is [`Error::NoConsent`]; anything else that is not a readable v1.1 receipt
    /// is [`Error::InvalidConsent`], saying which field is wrong and what it should be.
    /// Does not check validity; see [`ConsentReceipt::validate`].
    pub fn from_json(json: &str) -> Result<ConsentReceipt> {
        if json.trim().is_empty() || json.trim() == "null" {
            return Err(Error::NoConsent);
        }
        if json.len() > MAX_CONSENT_JSON {
            return Err(invalid(format!(
                "consent JSON is {} bytes; the limit is {MAX_CONSENT_JSON}",
                json.len()
            )));
        }
        let v: Value = serde_json::from_str(json).map_err(|e| {
            invalid(format!("the consent receipt is not valid JSON ({e}); send the receipt as the consent platform exported it"))
        })?;
        Self::from_value(v)
    }

    /// [`ConsentReceipt::from_json`] of parsed JSON.
    pub fn from_value(v: Value) -> Result<ConsentReceipt> {
        let mut f = Fields::new(String::new(), v, "a Kantara Consent Receipt v1.1")?;
        let version = match f.map.get("version") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => return Err(f.wrong("version", "text such as \"KI-CR-v1.1.0\"", other)),
        };
        let v1_1 = version.as_deref().is_some_and(|v| v.starts_with("KI-CR-v1.1"));
        if version.as_deref().is_some_and(|v| v.starts_with("KI-CR-v1.0")) {
            return Err(v1_0_refusal(version.as_deref(), v1_0_marker(&f.map)));
        }
        if !v1_1 {
            if let Some(m) = v1_0_marker(&f.map) {
                return Err(v1_0_refusal(version.as_deref(), Some(m)));
            }
        }
        let version = f.text("version", "the specification version, \"KI-CR-v1.1.0\"")?;
        let jurisdiction = f.text("jurisdiction", "the jurisdiction of the processing, e.g. \"US-IL\"")?;
        let consent_timestamp = match f.take("consentTimestamp") {
            Some(v) => timestamp_seconds(&f, "consentTimestamp", v)?,
            None => return Err(f.missing("consentTimestamp", "the time consent was given, in seconds since 1970")),
        };
        let collection_method = f.text("collectionMethod", "how consent was collected")?;
        let consent_receipt_id = f.text("consentReceiptID", "the receipt's unique id")?;
        let public_key = f.opt_text("publicKey")?;
        let language = f.opt_text("language")?;
        let pii_principal_id = f.text("piiPrincipalId", "the data subject's identifier")?;
        let pii_controllers = f
            .list("piiControllers", "the controllers")?
            .into_iter()
            .map(|(at, v)| PiiController::read(at, v))
            .collect::<Result<_>>()?;
        let policy_url = match f.take_either("policyUrl", "policyURL")? {
            Some(v) => f.text_value("policyUrl", v)?,
            None => return Err(f.missing("policyUrl", "the URL of the privacy policy")),
        };
        let policy_version = f.opt_text("policyVersion")?;
        let services = f
            .list("services", "the services and their purposes")?
            .into_iter()
            .map(|(at, v)| Service::read(at, v))
            .collect::<Result<_>>()?;
        let sensitive = match f.take("sensitive") {
            Some(v) => f.bool_value("sensitive", v)?,
            None => return Err(f.missing("sensitive", "whether sensitive data is processed (true for biometrics)")),
        };
        let spi_cat = f.texts("spiCat")?;
        let expires_at = match f.take("expiresAt") {
            Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
            Some(other) => return Err(f.wrong("expiresAt", "a whole number of seconds since 1970-01-01 UTC", &other)),
            None => None,
        };
        Ok(ConsentReceipt {
            version,
            jurisdiction,
            consent_timestamp,
            collection_method,
            consent_receipt_id,
            public_key,
            language,
            pii_principal_id,
            pii_controllers,
            policy_url,
            policy_version,
            services,
            sensitive,
            spi_cat,
            expires_at,
            extra: f.map,
        })
    }

    /// Serialises to pretty JSON (Kantara field names, unknown fields kept).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("consent receipts always serialise")
    }

    fn explicit_purposes(&self) -> impl Iterator<Item = &Purpose> {
        self.services.iter().flat_map(|s| s.purposes.iter()).filter(|p| is_explicit(&p.consent_type))
    }

    /// Everything a search purpose can match, in [`fold`]ed form: the `purpose` and every
    /// `purposeCategory` of the purposes with explicit consent.
    pub fn purposes(&self) -> BTreeSet<String> {
        self.explicit_purposes()
            .flat_map(|p| std::iter::once(&p.purpose).chain(p.purpose_category.iter()))
            .map(|s| fold(s))
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// Whether the receipt covers the search purpose `purpose`: a purpose with explicit
    /// consent names it as its `purpose` or in its `purposeCategory`, compared after
    /// [`fold`] (see the module documentation).
    pub fn covers(&self, purpose: &str) -> bool {
        folded(purpose).next().is_some()
            && self
                .explicit_purposes()
                .any(|p| fold_eq(&p.purpose, purpose) || p.purpose_category.iter().any(|c| fold_eq(c, purpose)))
    }

    /// The vault purposes this receipt covers, in the order of `vault_purposes`.
    pub fn covered_purposes(&self, vault_purposes: &[String]) -> Vec<String> {
        vault_purposes.iter().filter(|p| self.covers(p)).cloned().collect()
    }

    /// The purposes and purpose categories with explicit consent as written, for messages.
    pub(crate) fn consented_terms(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        self.explicit_purposes()
            .flat_map(|p| std::iter::once(&p.purpose).chain(p.purpose_category.iter()))
            .filter(|s| !s.trim().is_empty() && seen.insert(fold(s)))
            .cloned()
            .collect()
    }

    /// Exactly what [`crate::Vault::enroll`] checks of a receipt, at time `now`, for a vault
    /// serving `vault_purposes`: [`ConsentReceipt::validate`], then at least one vault purpose
    /// covered, else [`Error::PurposeNotCovered`] naming the vault's purposes (joined with
    /// " or ") and listing the receipt's. Returns the vault purposes the template would be
    /// enrolled for, in vault order.
    pub fn validate_for(&self, now: i64, vault_purposes: &[String]) -> Result<Vec<String>> {
        self.validate(now)?;
        let covered = self.covered_purposes(vault_purposes);
        if covered.is_empty() {
            return Err(Error::PurposeNotCovered {
                purpose: vault_purposes.join(" or "),
                consented: self.consented_terms().into(),
            });
        }
        Ok(covered)
    }

    /// Checks the receipt is acceptable for storing a biometric template at time `now` (see
    /// the module documentation); it does not look at purposes' names
    /// ([`ConsentReceipt::validate_for`] does).
    pub fn validate(&self, now: i64) -> Result<()> {
        if self.version.starts_with("KI-CR-v1.0") {
            return Err(v1_0_refusal(Some(&self.version), None));
        }
        if !self.version.starts_with("KI-CR-v1.1") {
            return Err(invalid(format!(
                "version {} is not a version fidex reads: fidex reads Kantara Consent Receipt v1.1 \
                 (\"version\": \"{KANTARA_VERSION}\"); ask the consent platform for a v1.1 receipt",
                quote(&self.version)
            )));
        }
        for (name, v, what) in [
            ("consentReceiptID", &self.consent_receipt_id, "the receipt's unique id"),
            ("jurisdiction", &self.jurisdiction, "the jurisdiction, e.g. \"US-IL\" or \"EU\""),
            ("collectionMethod", &self.collection_method, "how consent was collected, e.g. \"web form, explicit checkbox\""),
            ("piiPrincipalId", &self.pii_principal_id, "the data subject's identifier in your system (a pseudonymous id is best)"),
        ] {
            if v.trim().is_empty() {
                return Err(invalid(format!("{name} is empty: it must give {what}")));
            }
        }
        if self.pii_controllers.is_empty() {
            return Err(invalid(
                "piiControllers is empty: name at least one controller (piiController) responsible for the data",
            ));
        }
        if let Some(i) = self.pii_controllers.iter().position(|c| c.pii_controller.trim().is_empty()) {
            return Err(invalid(format!(
                "piiControllers[{i}].piiController is empty: give the controller's name"
            )));
        }
        if !is_http_url(&self.policy_url) {
            return Err(invalid(format!(
                "policyUrl {} is not an http(s) URL: give the address of the privacy policy the subject agreed to, \
                 e.g. \"https://example.com/privacy\"",
                quote(&self.policy_url)
            )));
        }
        if self.services.iter().all(|s| s.purposes.is_empty()) {
            return Err(invalid(
                "the receipt lists no purpose: services[].purposes[] must name what the face template is used for \
                 (e.g. a purposeCategory \"authentication\")",
            ));
        }
        for (i, s) in self.services.iter().enumerate() {
            for (j, p) in s.purposes.iter().enumerate() {
                if p.purpose.trim().is_empty() {
                    return Err(invalid(format!(
                        "services[{i}].purposes[{j}].purpose is empty: every purpose needs a description"
                    )));
                }
                if !is_explicit(&p.consent_type) {
                    return Err(invalid(format!(
                        "services[{i}].purposes[{j}] ({}) has consentType {}: biometric data needs EXPLICIT consent \
                         (GDPR Art. 9(2)(a), BIPA) for every purpose of the receipt; collect explicit opt-in consent \
                         and issue a receipt with \"consentType\": \"EXPLICIT\"",
                        quote(&p.purpose),
                        quote(&p.consent_type)
                    )));
                }
            }
        }
        if !self.sensitive {
            return Err(invalid(
                "sensitive is false, but facial templates are biometric data: the receipt must say \"sensitive\": true \
                 and list biometric data in spiCat",
            ));
        }
        if !self.spi_cat.iter().any(|c| names_biometric(c)) {
            let listed = if self.spi_cat.is_empty() {
                "is empty".to_string()
            } else {
                format!("lists {}", self.spi_cat.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", "))
            };
            return Err(invalid(format!(
                "spiCat {listed}, none of them biometric data: consent for a facial template must list a biometric \
                 category, e.g. \"Biometric data\""
            )));
        }
        if self.consent_timestamp <= 0 {
            return Err(invalid(format!(
                "consentTimestamp is {}: it must be the time consent was given, in seconds since 1970-01-01 UTC \
                 (e.g. 1700000000)",
                self.consent_timestamp
            )));
        }
        if self.consent_timestamp > now.saturating_add(CLOCK_SKEW) {
            return Err(invalid(format!(
                "consentTimestamp {} is {} s after the current time {now}: a receipt cannot record consent that was \
                 not given yet; check the issuing system's clock and that the value is in seconds",
                self.consent_timestamp,
                self.consent_timestamp.saturating_sub(now)
            )));
        }
        if let Some(exp) = self.expires_at {
            if exp <= self.consent_timestamp {
                return Err(invalid(format!(
                    "expiresAt {exp} is not after consentTimestamp {}: give the end of consent in seconds since \
                     1970, or leave expiresAt out",
                    self.consent_timestamp
                )));
            }
            if exp <= now {
                return Err(Error::ConsentExpired { expired_at: exp });
            }
        }
        Ok(())
    }
}

fn is_http_url(u: &str) -> bool {
    let lower = u.to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.chars().any(char::is_whitespace))
}

impl PiiController {
    fn read(at: String, v: Value) -> Result<PiiController> {
        let mut f = Fields::new(at, v, "a controller")?;
        let pii_controller = f.text("piiController", "the controller's name")?;
        let on_behalf = f.opt_bool("onBehalf")?;
        let contact = f.opt_text("contact")?;
        let address = match f.take("address") {
            None => None,
            Some(Value::String(s)) => Some(Address::Text(s)),
            Some(Value::Object(m)) => Some(Address::Postal(m)),
            Some(other) => return Err(f.wrong("address", "a postal-address object (or text)", &other)),
        };
        let email = f.opt_text("email")?;
        let phone = f.opt_text("phone")?;
        let pii_controller_url = match f.take_either("piiControllerUrl", "piiControllerURL")? {
            Some(v) => Some(f.text_value("piiControllerUrl", v)?),
            None => None,
        };
        Ok(PiiController { pii_controller, on_behalf, contact, address, email, phone, pii_controller_url, extra: f.map })
    }
}

impl Service {
    fn read(at: String, v: Value) -> Result<Service> {
        let mut f = Fields::new(at, v, "a service")?;
        let service = f.text("service", "the service's name")?;
        let purposes =
            f.list("purposes", "the purposes of the service")?.into_iter().map(|(at, v)| Purpose::read(at, v)).collect::<Result<_>>()?;
        Ok(Service { service, purposes, extra: f.map })
    }
}

impl Purpose {
    fn read(at: String, v: Value) -> Result<Purpose> {
        let mut f = Fields::new(at, v, "a purpose")?;
        let purpose = f.text("purpose", "what the data is used for")?;
        let purpose_category = f.texts("purposeCategory")?;
        let consent_type = f.text("consentType", "the kind of consent, \"EXPLICIT\" for biometric data")?;
        let pii_category = match f.take("piiCategory") {
            None => Vec::new(),
            Some(Value::String(s)) => vec![PiiCategory::Name(s)],
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(PiiCategory::Name(s)),
                    Value::Object(m) => Ok(PiiCategory::Record(m)),
                    other => Err(f.wrong(&format!("piiCategory[{i}]"), "text or an object", &other)),
                })
                .collect::<Result<_>>()?,
            Some(other) => return Err(f.wrong("piiCategory", "a list of texts or objects", &other)),
        };
        let primary_purpose = f.opt_bool("primaryPurpose")?;
        let termination = f.opt_text("termination")?;
        let third_party_disclosure = f.opt_bool("thirdPartyDisclosure")?;
        let third_party_name = f.opt_text("thirdPartyName")?;
        Ok(Purpose {
            purpose,
            purpose_category,
            consent_type,
            pii_category,
            primary_purpose,
            termination,
            third_party_disclosure,
            third_party_name,
            extra: f.map,
        })
    }
}

/// What loading a vault needs of a stored receipt: its expiry and the purposes it covers,
/// read straight from the JSON text without building a [`ConsentReceipt`] (loading parses
/// one receipt per template, and the full reader's maps were most of a vault's open time).
///
/// It reads only `expiresAt` and `services[].purposes[].{purpose, purposeCategory,
/// consentType}`, with the types [`ConsentReceipt::from_json`] accepts for them, and skips
/// every other field unread, so it does **not** validate the receipt: use it only on text
/// the full reader is known to accept (a vault uses it only for a stored receipt whose
/// SHA-256 is the one its audit log recorded when the full reader accepted it at
/// enrollment). Anything it does not expect (a duplicate key, a number where a text
/// belongs, ...) it declines (`None`), and the caller reads the receipt with the full
/// reader.
pub(crate) struct StoredFacts<'a> {
    /// `expiresAt` (unix seconds), if given.
    pub expires_at: Option<i64>,
    /// Per purpose with explicit consent: its `purpose`, then its `purposeCategory` texts.
    explicit: Vec<Vec<std::borrow::Cow<'a, str>>>,
}

impl<'a> StoredFacts<'a> {
    /// Reads `json` (see [`StoredFacts`]); `None` when it is not in the expected shape.
    pub(crate) fn read(json: &'a str) -> Option<StoredFacts<'a>> {
        let view: FactsView<'a> = serde_json::from_str(json).ok()?;
        let explicit = view
            .services
            .into_iter()
            .flat_map(|s| s.purposes)
            .filter(|p| is_explicit(&p.consent_type))
            .map(|p| {
                let mut terms = Vec::with_capacity(1 + p.purpose_category.0.len());
                terms.push(p.purpose);
                terms.extend(p.purpose_category.0);
                terms
            })
            .collect();
        Some(StoredFacts { expires_at: view.expires_at, explicit })
    }

    /// [`ConsentReceipt::covers`] of the receipt read.
    pub(crate) fn covers(&self, purpose: &str) -> bool {
        folded(purpose).next().is_some() && self.explicit.iter().flatten().any(|t| fold_eq(t, purpose))
    }
}

#[derive(Deserialize)]
struct FactsView<'a> {
    #[serde(rename = "expiresAt", default)]
    expires_at: Option<i64>,
    #[serde(borrow)]
    services: Vec<ServiceView<'a>>,
}

#[derive(Deserialize)]
struct ServiceView<'a> {
    #[serde(borrow)]
    purposes: Vec<PurposeView<'a>>,
}

#[derive(Deserialize)]
struct PurposeView<'a> {
    #[serde(borrow)]
    purpose: std::borrow::Cow<'a, str>,
    #[serde(rename = "purposeCategory", default, borrow)]
    purpose_category: Texts<'a>,
    #[serde(rename = "consentType", borrow)]
    consent_type: std::borrow::Cow<'a, str>,
}

/// `purposeCategory` as the full reader takes it: a list of texts, one text, or `null`.
#[derive(Default)]
struct Texts<'a>(Vec<std::borrow::Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Texts<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Texts<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a text, a list of texts or null")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, s: &'de str) -> std::result::Result<Self::Value, E> {
                Ok(Texts(vec![std::borrow::Cow::Borrowed(s)]))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> std::result::Result<Self::Value, E> {
                Ok(Texts(vec![std::borrow::Cow::Owned(s.to_owned())]))
            }
            fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
                Ok(Texts(Vec::new()))
            }
            fn visit_none<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
                Ok(Texts(Vec::new()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(t) = seq.next_element::<Borrowed<'a>>()? {
                    out.push(t.0);
                }
                Ok(Texts(out))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// One text, borrowed from the input when it has no escapes.
struct Borrowed<'a>(std::borrow::Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Borrowed<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct W<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>);
        W::deserialize(d).map(|w| Borrowed(w.0))
    }
}

// --- Serialisation: the specification's field order, then the unknown fields. ---

/// Writes `extra`, skipping names the typed fields write (or read as aliases).
fn write_extra<M: SerializeMap>(m: &mut M, extra: &Map<String, Value>, known: &[&str]) -> std::result::Result<(), M::Error> {
    for (k, v) in extra {
        if !known.contains(&k.as_str()) {
            m.serialize_entry(k, v)?;
        }
    }
    Ok(())
}

fn entry_opt<M: SerializeMap, T: Serialize>(m: &mut M, k: &str, v: &Option<T>) -> std::result::Result<(), M::Error> {
    match v {
        Some(v) => m.serialize_entry(k, v),
        None => Ok(()),
    }
}

impl Serialize for ConsentReceipt {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("version", &self.version)?;
        m.serialize_entry("jurisdiction", &self.jurisdiction)?;
        m.serialize_entry("consentTimestamp", &self.consent_timestamp)?;
        m.serialize_entry("collectionMethod", &self.collection_method)?;
        m.serialize_entry("consentReceiptID", &self.consent_receipt_id)?;
        entry_opt(&mut m, "publicKey", &self.public_key)?;
        entry_opt(&mut m, "language", &self.language)?;
        m.serialize_entry("piiPrincipalId", &self.pii_principal_id)?;
        m.serialize_entry("piiControllers", &self.pii_controllers)?;
        m.serialize_entry("policyUrl", &self.policy_url)?;
        entry_opt(&mut m, "policyVersion", &self.policy_version)?;
        m.serialize_entry("services", &self.services)?;
        m.serialize_entry("sensitive", &self.sensitive)?;
        m.serialize_entry("spiCat", &self.spi_cat)?;
        entry_opt(&mut m, "expiresAt", &self.expires_at)?;
        write_extra(
            &mut m,
            &self.extra,
            &[
                "version", "jurisdiction", "consentTimestamp", "collectionMethod", "consentReceiptID", "publicKey",
                "language", "piiPrincipalId", "piiControllers", "policyUrl", "policyURL", "policyVersion", "services",
                "sensitive", "spiCat", "expiresAt",
            ],
        )?;
        m.end()
    }
}

impl Serialize for PiiController {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("piiController", &self.pii_controller)?;
        entry_opt(&mut m, "onBehalf", &self.on_behalf)?;
        entry_opt(&mut m, "contact", &self.contact)?;
        entry_opt(&mut m, "address", &self.address)?;
        entry_opt(&mut m, "email", &self.email)?;
        entry_opt(&mut m, "phone", &self.phone)?;
        entry_opt(&mut m, "piiControllerUrl", &self.pii_controller_url)?;
        write_extra(
            &mut m,
            &self.extra,
            &["piiController", "onBehalf", "contact", "address", "email", "phone", "piiControllerUrl", "piiControllerURL"],
        )?;
        m.end()
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Address::Text(t) => t.serialize(s),
            Address::Postal(m) => m.serialize(s),
        }
    }
}

impl Serialize for Service {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("service", &self.service)?;
        m.serialize_entry("purposes", &self.purposes)?;
        write_extra(&mut m, &self.extra, &["service", "purposes"])?;
        m.end()
    }
}

impl Serialize for Purpose {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("purpose", &self.purpose)?;
        m.serialize_entry("purposeCategory", &self.purpose_category)?;
        m.serialize_entry("consentType", &self.consent_type)?;
        m.serialize_entry("piiCategory", &self.pii_category)?;
        entry_opt(&mut m, "primaryPurpose", &self.primary_purpose)?;
        entry_opt(&mut m, "termination", &self.termination)?;
        entry_opt(&mut m, "thirdPartyDisclosure", &self.third_party_disclosure)?;
        entry_opt(&mut m, "thirdPartyName", &self.third_party_name)?;
        write_extra(
            &mut m,
            &self.extra,
            &[
                "purpose", "purposeCategory", "consentType", "piiCategory", "primaryPurpose", "termination",
                "thirdPartyDisclosure", "thirdPartyName",
            ],
        )?;
        m.end()
    }
}

impl Serialize for PiiCategory {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            PiiCategory::Name(t) => t.serialize(s),
            PiiCategory::Record(m) => m.serialize(s),
        }
    }
}

/// Reads with [`ConsentReceipt::from_value`] (the vault re-reads stored receipts this way).
impl<'de> Deserialize<'de> for ConsentReceipt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        ConsentReceipt::from_value(v).map_err(|e| match e {
            Error::InvalidConsent(m) => serde::de::Error::custom(m),
            other => serde::de::Error::custom(other),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 2000;

    fn good() -> ConsentReceipt {
        ConsentReceipt::explicit_at("s", "Acme", "https://a.example/p", &["authentication"], 1000, NOW).unwrap()
    }

    fn refusal(c: &ConsentReceipt) -> String {
        match c.validate(NOW) {
            Err(Error::InvalidConsent(m)) => m,
            other => panic!("expected InvalidConsent, got {other:?}"),
        }
    }

    #[test]
    fn validation_rules() {
        assert!(good().validate(NOW).is_ok());
        let mut c = good();
        c.services[0].purposes[0].consent_type = "IMPLICIT".into();
        assert!(refusal(&c).contains("EXPLICIT"));
        let mut c = good();
        c.services[0].purposes[0].consent_type = " explicit ".into();
        assert!(c.validate(NOW).is_ok());
        let mut c = good();
        c.sensitive = false;
        assert!(refusal(&c).contains("sensitive is false"));
        let mut c = good();
        c.expires_at = Some(1500);
        assert!(matches!(c.validate(NOW), Err(Error::ConsentExpired { expired_at: 1500 })));
        let mut c = good();
        c.expires_at = Some(900);
        assert!(refusal(&c).contains("not after consentTimestamp"));
        let mut c = good();
        c.consent_timestamp = NOW + 301;
        assert!(refusal(&c).contains("301 s after"));
        c.consent_timestamp = NOW + 300;
        assert!(c.validate(NOW).is_ok());
        let mut c = good();
        c.policy_url = "https://".into();
        assert!(refusal(&c).contains("not an http(s) URL"));
        c.policy_url = "HTTPS://a.example".into();
        assert!(c.validate(NOW).is_ok());
        let mut c = good();
        c.version = "KI-CR-v1.0.0".into();
        assert!(refusal(&c).contains("v1.0"));
        c.version = "KI-CR-v2.0.0".into();
        assert!(refusal(&c).contains("not a version fidex reads"));
        assert!(matches!(ConsentReceipt::from_json(" "), Err(Error::NoConsent)));
        assert!(matches!(ConsentReceipt::from_json("null"), Err(Error::NoConsent)));
        assert!(matches!(ConsentReceipt::from_json("{"), Err(Error::InvalidConsent(_))));
    }

    /// The fast reader of stored receipts agrees with the full reader on expiry and on every
    /// purpose question, or declines (and the full reader decides).
    #[test]
    fn stored_facts_agree_with_the_full_reader() {
        let fixtures = [
            include_str!("../tests/fixtures/kantara/v1.1-spec-shape.json"),
            include_str!("../tests/fixtures/kantara/v1.1-wso2-biometric.json"),
            include_str!("../tests/fixtures/kantara/v1.1-wso2-documented-not-biometric.json"),
        ];
        let probes = [
            "authentication", "identification", "Identification", "face pass", "FACE   PASS", "Face Pass", "core function",
            "Core Function", "1 - core function", "login", "", "  ", "gate-face-pass", "Face Pass at ticket gates", "Ünïcode Pürpose",
            "ünïcode pürpose", "face\tlogin", "face login",
        ];
        let mut cases: Vec<String> = fixtures.iter().map(|s| s.to_string()).collect();
        let mut c = good();
        cases.push(c.to_json());
        cases.push(serde_json::to_string(&c).unwrap());
        c.expires_at = Some(5000);
        c.services[0].purposes[0].purpose = "Face\tLogin".into();
        c.services[0].purposes[0].purpose_category = vec!["Ünïcode  Pürpose".into(), "identification".into()];
        let mut other = c.services[0].purposes[0].clone();
        other.purpose = "login".into();
        other.consent_type = "implicit".into();
        c.services[0].purposes.push(other);
        let mut second = c.services[0].clone();
        second.service = "second".into();
        second.purposes[0].consent_type = " Explicit ".into();
        second.purposes[0].purpose = "face pass".into();
        second.purposes[0].purpose_category.clear();
        c.services.push(second);
        cases.push(c.to_json());
        // Shapes the full reader accepts and fidex never writes: one text, null, escapes.
        let v = serde_json::to_string(&c).unwrap();
        let sub = |from: &str, to: &str| {
            assert!(v.contains(from), "{from} not in {v}");
            v.replacen(from, to, 1)
        };
        cases.push(sub(r#""purposeCategory":["Ünïcode  Pürpose","identification"]"#, r#""purposeCategory":"identification""#));
        cases.push(sub(r#""purposeCategory":[]"#, r#""purposeCategory":null"#));
        cases.push(sub(r#""purpose":"login""#, r#""purpose":"l\u006fgin""#).replacen("implicit", "EXPLICIT", 1));
        cases.push(sub(r#""expiresAt":5000"#, r#""expiresAt":null"#));
        for json in &cases {
            let full = ConsentReceipt::from_json(json).unwrap();
            let fast = StoredFacts::read(json).unwrap_or_else(|| panic!("declined {json}"));
            assert_eq!(fast.expires_at, full.expires_at, "{json}");
            for p in probes {
                assert_eq!(fast.covers(p), full.covers(p), "{p:?} in {json}");
            }
        }
        // Agreement is not vacuous: these cases cover and miss, with and without expiry.
        let facts: Vec<StoredFacts<'_>> = cases.iter().map(|j| StoredFacts::read(j).unwrap()).collect();
        assert!(facts.iter().any(|f| f.covers("face pass")) && facts.iter().any(|f| !f.covers("face pass")));
        assert!(facts.iter().any(|f| f.covers("login")) && facts.iter().any(|f| !f.covers("login")));
        assert!(facts.iter().any(|f| f.expires_at == Some(5000)) && facts.iter().any(|f| f.expires_at.is_none()));
        // What the fast reader does not expect, it declines.
        let v = serde_json::to_string(&good()).unwrap();
        for bad in [
            v.replacen(r#""purpose":"authentication""#, r#""purpose":"authentication","purpose":"x""#, 1),
            v.replacen(r#""consentType":"EXPLICIT""#, r#""consentType":7"#, 1),
            v.replacen(r#""purposeCategory":["Core Function"]"#, r#""purposeCategory":[1]"#, 1),
            v.replacen(r#""services":"#, r#""expiresAt":1.5,"services":"#, 1),
            v.replacen(r#""services":"#, r#""servicesX":"#, 1),
            "[]".to_string(),
        ] {
            assert!(StoredFacts::read(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn biometric_categories() {
        for yes in ["biometric", "Biometric data", "BIOMETRICS", "3 - Biometric", "special category: biometric (Art. 9)", "health/biometric"] {
            assert!(names_biometric(yes), "{yes}");
        }
        for no in ["", "health", "biometrical", "non-biometric", "not biometric", "bio metric"] {
            assert!(!names_biometric(no), "{no}");
        }
    }

    #[test]
    fn fold_eq_agrees_with_fold() {
        let cases = [" Face \u{a0} Login\n", "face login", "ÉTAT", "état", "", "   ", "a  b", "a b ", "İstanbul", "i̇stanbul", "ß", "SS"];
        for a in cases {
            for b in cases {
                assert_eq!(fold_eq(a, b), fold(a) == fold(b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn folding() {
        assert_eq!(fold(" Face \u{a0} Login\n"), "face login");
        assert_eq!(fold("ÉTAT"), "état");
        let mut c = good();
        c.services[0].purposes[0].purpose = "To log you in".into();
        c.services[0].purposes[0].purpose_category = vec!["  AUTHENTICATION ".into()];
        assert!(c.covers("authentication") && c.covers("Authentication"));
        assert!(!c.covers("identification") && !c.covers("") && !c.covers("auth"));
        assert!(c.covers("to  log you IN"));
        assert_eq!(c.covered_purposes(&["identification".into(), "authentication".into()]), vec!["authentication"]);
        c.services[0].purposes[0].consent_type = "IMPLICIT".into();
        assert!(!c.covers("authentication"));
    }

    #[test]
    fn kantara_field_names() {
        let j = good().to_json();
        for f in ["consentReceiptID", "piiPrincipalId", "piiControllers", "policyUrl", "consentType", "spiCat", "consentTimestamp", "collectionMethod"] {
            assert!(j.contains(f), "missing {f} in {j}");
        }
        let v: Value = serde_json::from_str(&j).unwrap();
        assert!(v["piiControllers"][0]["address"].is_object(), "address in v1.1 form: {j}");
    }

    #[test]
    fn explicit_refuses_what_validate_refuses() {
        let ok = |s, c, u, p: &[&str], t| ConsentReceipt::explicit_at(s, c, u, p, t, NOW);
        assert!(ok("s", "Acme", "https://a.example/p", &["authentication"], 1000).is_ok());
        for (s, c, u, p, t) in [
            ("", "Acme", "https://a.example/p", &["authentication"][..], 1000),
            ("s", " ", "https://a.example/p", &["authentication"][..], 1000),
            ("s", "Acme", "a.example/p", &["authentication"][..], 1000),
            ("s", "Acme", "https://a.example/p", &[][..], 1000),
            ("s", "Acme", "https://a.example/p", &[""][..], 1000),
            ("s", "Acme", "https://a.example/p", &["authentication"][..], 0),
            ("s", "Acme", "https://a.example/p", &["authentication"][..], NOW + 301),
        ] {
            assert!(matches!(ok(s, c, u, p, t), Err(Error::InvalidConsent(_))), "{s:?} {c:?} {u:?} {p:?} {t}");
        }
    }

    #[test]
    fn milliseconds_and_v1_0() {
        let mut v: Value = serde_json::from_str(&good().to_json()).unwrap();
        v["consentTimestamp"] = 1_517_742_624_682i64.into();
        let c = ConsentReceipt::from_value(v.clone()).unwrap();
        assert_eq!(c.consent_timestamp, 1_517_742_624);
        v["consentTimestamp"] = 99_999_999_999i64.into();
        assert_eq!(ConsentReceipt::from_value(v.clone()).unwrap().consent_timestamp, 99_999_999_999);
        v["consentTimestamp"] = MILLIS_UNTIL.into();
        assert!(matches!(ConsentReceipt::from_value(v.clone()), Err(Error::InvalidConsent(m)) if m.contains("larger than any date")));
        v["consentTimestamp"] = "2026-03-15T10:00:00Z".into();
        assert!(matches!(ConsentReceipt::from_value(v.clone()), Err(Error::InvalidConsent(m)) if m.contains("not a date text")));
        v["consentTimestamp"] = 1000.into();
        v["version"] = "KI-CR-v1.0.0".into();
        assert!(matches!(ConsentReceipt::from_value(v), Err(Error::InvalidConsent(m)) if m.contains("v1.0")));
    }
}
