//! Kantara Consent Receipt v1.1 receipts as consent platforms write them, through parsing,
//! validation, enrollment into a real vault and purpose-limited search.
//!
//! Where the fixtures' shapes come from (the values are this test's own, not copied):
//!
//! - `SPEC_SHAPE`: the example receipt of the Kantara Consent Receipt Specification v1.1.0
//!   (2018-02-20): top-level `version`, `jurisdiction`, integer `consentTimestamp`,
//!   `collectionMethod`, `consentReceiptID`, a multi-line hex `publicKey`, `language`,
//!   `piiPrincipalId`; `piiControllers[]` with `piiController`, `contact`, an `address`
//!   *object* (`streetAddress`, `addressCountry`), `email`, `phone`; `policyUrl`;
//!   `services[]` with `service` and `purposes[]` of `purpose`, `purposeCategory` (list of
//!   numbered texts such as "1 - Core Function"), `consentType` "EXPLICIT", `piiCategory`
//!   (numbered texts such as "3 - Biometric"), `primaryPurpose`, `termination`,
//!   `thirdPartyDisclosure` and, on some purposes only, `thirdPartyName`; then `sensitive`
//!   and `spiCat`. (The copy of the example read for this test ended before its `sensitive`
//!   and `spiCat` values; their types, a boolean and a list of texts, are those of the
//!   receipt schema in WSO2's API definition below.) The numbered purpose and PII category
//!   names are the specification's lists as the consent-receipt-dart library encodes them.
//! - `WSO2_BIOMETRIC` and `WSO2_AS_DOCUMENTED`: WSO2 Identity Server's consent receipt, from
//!   its Consent Management REST API definition (wso2/carbon-consent-management,
//!   `carbon-consent-management.yaml`, `GET /consents/receipts/{receiptId}`): the example
//!   response has `consentTimestamp` in *milliseconds* (13 digits), `"publicKey": null`,
//!   `tenantDomain` and `state` at the top, a controller with `onBehalf`,
//!   `piiControllerUrl` and a six-field `address` object, `services[].tenantDomain`,
//!   `piiCategory` as objects `{"piiCategory", "validity"}`, `"thirdPartyName": ""` and
//!   `"spiCat": null`; the schema's `serviceResponse` adds `serviceDisplayName` and
//!   `serviceDescription`, its `purposeResponse` adds `purposeId`, and its
//!   `piiCategoryNameList` has `piiCategoryName`, `piiCategoryId`, `validity`.
//! - `V1_0_WSO2_ERA`: a Kantara v1.0 receipt as an early WSO2 consent-management prototype
//!   (ShanChathusanda93/identity-user-consent-mgt, `ConsentReceiptConstants.java`,
//!   `JSONObjectCreator.java`) writes it: `version` "KI-CR-v1.0.0", `subject`,
//!   `dataController` {`org`, `contact`, `address` {`streetAddress`, `addressCountry`},
//!   `email`, `phone`}, `policyUrl`, `services[]` with `serviceName`, the timestamp as text.
//! - `V0_8_DRAFT`: the pre-v1.0 draft format of the Kantara CIS working group's example
//!   (KantaraInitiative/CISWG issue 57): `iat`, `moc`, `jti`, `public_key`,
//!   `data_controller` {`on_behalf`, `contact`, `company`, `address` as text, ...},
//!   `policy_uri`, `service[]` with `service_name`.
mod common;

use fidex::clock::{Clock, ManualClock, SystemClock};
use fidex::consent::{Address, PiiCategory};
use fidex::{ConsentReceipt, Error, Vault, VaultConfig, VaultKey};
use serde_json::{json, Value};
use std::sync::Arc;

/// The vaults' clock.
const T0: i64 = common::T0;

const SPEC_SHAPE: &str = include_str!("fixtures/kantara/v1.1-spec-shape.json");

const WSO2_BIOMETRIC: &str = include_str!("fixtures/kantara/v1.1-wso2-biometric.json");

/// WSO2's documented example: an ordinary (non-sensitive) consent, `spiCat` null.
const WSO2_AS_DOCUMENTED: &str = include_str!("fixtures/kantara/v1.1-wso2-documented-not-biometric.json");

const V1_0_WSO2_ERA: &str = include_str!("fixtures/kantara/v1.0-wso2-era.json");

const V0_8_DRAFT: &str = include_str!("fixtures/kantara/v0.8-draft.json");

fn vault_purposes() -> Vec<String> {
    VaultConfig::new(4).purposes
}

fn new_vault(dir: &std::path::Path) -> (Vault, VaultKey) {
    let key = VaultKey::generate();
    let v = Vault::create(dir, &key, VaultConfig::new(4)).unwrap();
    v.set_clock(Arc::new(ManualClock::new(T0)));
    (v, key)
}

const TEMPLATE: [f32; 4] = [0.6, 0.8, 0.0, 0.0];

fn parse(json: &str) -> ConsentReceipt {
    ConsentReceipt::from_json(json).unwrap_or_else(|e| panic!("{e}"))
}

fn value(json: &str) -> Value {
    serde_json::from_str(json).unwrap()
}

/// Enrolls `c` into a fresh vault and checks that `validate_for` said the same thing.
fn enroll_agrees(c: &ConsentReceipt) -> (tempfile::TempDir, Vault, VaultKey, fidex::Result<fidex::FacialId>) {
    let dir = tempfile::tempdir().unwrap();
    let (v, key) = new_vault(&dir.path().join("v"));
    let predicted = c.validate_for(T0, &vault_purposes());
    let got = v.enroll(&TEMPLATE, c, None).map(|e| e.facial_id);
    match (&predicted, &got) {
        (Ok(_), Ok(_)) => {}
        (Err(p), Err(g)) => assert_eq!(p, g, "validate_for and enroll refuse differently"),
        _ => panic!("validate_for said {predicted:?}, enroll did {got:?}"),
    }
    (dir, v, key, got)
}

/// An accepted receipt: enrolled for exactly `covered`, found by `identify` for those
/// purposes only, `verify` refuses the others; the same after reopening the vault.
fn accepted_for(c: &ConsentReceipt, covered: &[&str]) {
    assert_eq!(c.validate_for(T0, &vault_purposes()).unwrap(), covered);
    let (dir, v, key, id) = enroll_agrees(c);
    let id = id.unwrap();
    v.commit().unwrap();
    let check = |v: &Vault| {
        for p in ["authentication", "identification"] {
            let hits = v.identify(&TEMPLATE, 1, None, p).unwrap();
            if covered.contains(&p) {
                assert_eq!(hits.len(), 1, "not found for {p}");
                assert_eq!(hits[0].facial_id, id);
                assert!(v.verify(&id, &TEMPLATE, p).unwrap().matched);
            } else {
                assert!(hits.is_empty(), "found for {p}, which the receipt does not cover");
                match v.verify(&id, &TEMPLATE, p) {
                    Err(Error::PurposeNotCovered { purpose, .. }) => assert_eq!(purpose, p),
                    other => panic!("verify for {p}: {other:?}"),
                }
            }
        }
        let stats = v.stats().unwrap();
        for p in ["authentication", "identification"] {
            assert_eq!(stats.consents_by_purpose[p], u64::from(covered.contains(&p)), "stats for {p}");
        }
    };
    check(&v);
    assert_eq!(v.consent(&id).unwrap(), *c, "the stored receipt is the one given");
    drop(v);
    // Reopening recomputes the purpose tags from the stored receipt.
    let v = Vault::open(dir.path().join("v"), &key).unwrap();
    v.set_clock(Arc::new(ManualClock::new(T0)));
    check(&v);
    assert_eq!(v.consent(&id).unwrap(), *c);
}

/// A refused receipt: `validate_for` and `enroll` give the same error, which is `expect`
/// with `words` in its message.
fn refused(c: &ConsentReceipt, expect: fn(&Error) -> bool, words: &[&str]) {
    let (_dir, v, _key, got) = enroll_agrees(c);
    let err = got.expect_err("enrollment must be refused");
    assert!(expect(&err), "unexpected error {err:?}");
    let msg = err.to_string();
    for w in words {
        assert!(msg.contains(w), "message lacks {w:?}: {msg}");
    }
    assert_eq!(v.len(), 0);
}

fn invalid(e: &Error) -> bool {
    matches!(e, Error::InvalidConsent(_))
}

/// A parse refusal: InvalidConsent with `words`, in plain terms.
fn unreadable(json: &str, words: &[&str]) {
    match ConsentReceipt::from_json(json) {
        Err(Error::InvalidConsent(m)) => {
            for w in words {
                assert!(m.contains(w), "message lacks {w:?}: {m}");
            }
            for internal in ["struct ", "elements", "untagged", "variant", "invalid type", "serde"] {
                assert!(!m.contains(internal), "message leaks {internal:?}: {m}");
            }
        }
        other => panic!("expected InvalidConsent, got {other:?}"),
    }
}

#[test]
fn spec_shaped_receipt_is_read_and_enrolled_for_its_category() {
    let c = parse(SPEC_SHAPE);
    assert_eq!(c.consent_timestamp, 1_749_990_000);
    assert_eq!(c.pii_principal_id, "member-8812");
    let mut postal = serde_json::Map::new();
    postal.insert("streetAddress".into(), json!("12 Harbor Road"));
    postal.insert("addressCountry".into(), json!("US"));
    assert_eq!(c.pii_controllers[0].address, Some(Address::Postal(postal)));
    assert_eq!(c.pii_controllers[0].on_behalf, None);
    assert!(c.public_key.as_deref().unwrap().contains("\r\n"));
    assert_eq!(c.services[0].purposes[0].purpose_category, vec!["1 - Core Function", "Authentication"]);
    assert_eq!(c.services[0].purposes[0].third_party_name.as_deref(), Some("FaceCheck Processing LLC"));
    assert_eq!(c.services[0].purposes[1].third_party_name, None);
    // "Authentication" (category) covers the vault purpose; the free-text purposes match nothing.
    assert!(c.covers("authentication") && c.covers("AUTHENTICATION") && c.covers(" authentication "));
    assert!(!c.covers("identification") && !c.covers("auth") && !c.covers("core function"));
    assert!(c.covers("1 - core function"));
    accepted_for(&c, &["authentication"]);
    // Written back in the same shape.
    assert_eq!(value(&c.to_json()), value(SPEC_SHAPE));
}

#[test]
fn wso2_export_is_read_with_everything_it_carries() {
    let c = parse(WSO2_BIOMETRIC);
    // Milliseconds, read as seconds (rounded down).
    assert_eq!(c.consent_timestamp, 1_749_990_000);
    assert_eq!(c.public_key, None);
    assert_eq!(c.language.as_deref(), Some("EN"));
    assert_eq!(c.extra["tenantDomain"], "carbon.super");
    assert_eq!(c.extra["state"], "ACTIVE");
    let ctl = &c.pii_controllers[0];
    assert_eq!(ctl.on_behalf, Some(false));
    assert_eq!(ctl.pii_controller_url.as_deref(), Some("https://transit.example"));
    match &ctl.address {
        Some(Address::Postal(m)) => {
            assert_eq!(m.len(), 6);
            assert_eq!(m["postOfficeBoxNumber"], "88");
        }
        other => panic!("address {other:?}"),
    }
    let s = &c.services[0];
    assert_eq!(s.extra["serviceDisplayName"], "Face Pass at ticket gates");
    assert_eq!(s.extra["tenantDomain"], "carbon.super");
    let p = &s.purposes[0];
    assert_eq!(p.extra["purposeId"], 7);
    assert_eq!(p.third_party_name.as_deref(), Some(""));
    assert_eq!(p.pii_category.len(), 2);
    assert_eq!(p.pii_category[0].name(), Some("faceTemplate"));
    assert!(matches!(&p.pii_category[0], PiiCategory::Record(m) if m["validity"] == "days:365" && m["piiCategoryId"] == 12));
    // The purpose is "Face Pass"; its category "Identification" covers identification.
    accepted_for(&c, &["identification"]);

    // Round trip: everything is written back; the only changes are the timestamp in
    // seconds and the null publicKey left out.
    let mut expected = value(WSO2_BIOMETRIC);
    expected["consentTimestamp"] = json!(1_749_990_000);
    expected.as_object_mut().unwrap().remove("publicKey");
    assert_eq!(value(&c.to_json()), expected);
    assert_eq!(parse(&c.to_json()), c);
    assert_eq!(parse(&serde_json::to_string(&c).unwrap()), c);
}

#[test]
fn wso2_documented_example_is_read_but_is_not_biometric_consent() {
    let c = parse(WSO2_AS_DOCUMENTED);
    assert_eq!(c.consent_timestamp, 1_749_990_000);
    assert!(c.spi_cat.is_empty());
    assert_eq!(c.services[0].purposes[0].pii_category[1].name(), Some("username"));
    refused(&c, invalid, &["sensitive is false", "biometric"]);
    let mut sensitive = value(WSO2_AS_DOCUMENTED);
    sensitive["sensitive"] = json!(true);
    refused(&parse(&sensitive.to_string()), invalid, &["spiCat is empty", "Biometric data"]);
    sensitive["spiCat"] = json!(["Health"]);
    refused(&parse(&sensitive.to_string()), invalid, &["\"Health\"", "none of them biometric"]);
    // Biometric but for a purpose no vault purpose matches.
    sensitive["spiCat"] = json!(["BIOMETRICS"]);
    refused(
        &parse(&sensitive.to_string()),
        |e| matches!(e, Error::PurposeNotCovered { purpose, consented } if purpose == "authentication or identification" && **consented == ["Contact", "Legal"]),
        &["'authentication or identification'", "\"Contact\", \"Legal\"", "purposeCategory"],
    );
}

#[test]
fn spi_cat_wordings() {
    for (cat, ok) in [
        ("Biometric data", true),
        ("biometric", true),
        ("BIOMETRICS", true),
        ("3 - Biometric", true),
        ("Special category (Art. 9): biometric data for identification", true),
        ("Health", false),
        ("biometrical", false),
        ("non-biometric", false),
    ] {
        let mut v = value(SPEC_SHAPE);
        v["spiCat"] = json!([cat]);
        let c = parse(&v.to_string());
        assert_eq!(c.validate(T0).is_ok(), ok, "{cat}: {:?}", c.validate(T0));
    }
}

#[test]
fn purpose_category_as_one_text_and_consent_type_in_any_case() {
    let mut v = value(SPEC_SHAPE);
    v["services"][0]["purposes"][0]["purposeCategory"] = json!("identification");
    v["services"][0]["purposes"][0]["consentType"] = json!("Explicit");
    v["services"][0]["purposes"][1]["consentType"] = json!("explicit");
    let c = parse(&v.to_string());
    assert_eq!(c.services[0].purposes[0].purpose_category, vec!["identification"]);
    accepted_for(&c, &["identification"]);
    // A purpose named exactly like the vault purpose also covers it, whatever its categories.
    let mut v = value(SPEC_SHAPE);
    v["services"][0]["purposes"][1]["purpose"] = json!("  Identification ");
    accepted_for(&parse(&v.to_string()), &["authentication", "identification"]);
}

#[test]
fn refusals_agree_with_enrollment() {
    let base = value(SPEC_SHAPE);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = base.clone();
        f(&mut v);
        parse(&v.to_string())
    };
    refused(
        &with(&|v| v["services"][0]["purposes"][1]["consentType"] = json!("IMPLICIT")),
        invalid,
        &["services[0].purposes[1]", "\"IMPLICIT\"", "EXPLICIT"],
    );
    refused(&with(&|v| v["sensitive"] = json!(false)), invalid, &["sensitive is false"]);
    refused(&with(&|v| v["spiCat"] = json!(["Financial"])), invalid, &["none of them biometric"]);
    refused(&with(&|v| v["piiPrincipalId"] = json!("  ")), invalid, &["piiPrincipalId is empty"]);
    refused(&with(&|v| v["piiControllers"] = json!([])), invalid, &["piiControllers is empty"]);
    refused(&with(&|v| v["piiControllers"][0]["piiController"] = json!("")), invalid, &["piiControllers[0].piiController is empty"]);
    refused(&with(&|v| v["policyUrl"] = json!("ftp://lakeside-cu.example/privacy")), invalid, &["policyUrl", "not an http(s) URL"]);
    refused(&with(&|v| v["policyUrl"] = json!("lakeside-cu.example/privacy")), invalid, &["not an http(s) URL"]);
    refused(&with(&|v| v["services"][0]["purposes"] = json!([])), invalid, &["lists no purpose"]);
    refused(&with(&|v| v["services"] = json!([])), invalid, &["lists no purpose"]);
    refused(&with(&|v| v["consentTimestamp"] = json!(0)), invalid, &["consentTimestamp is 0", "seconds since 1970"]);
    refused(&with(&|v| v["consentTimestamp"] = json!(-5)), invalid, &["consentTimestamp is -5"]);
    refused(&with(&|v| v["consentTimestamp"] = json!(T0 + 301)), invalid, &["301 s after the current time"]);
    // 301 s in the future, in milliseconds.
    refused(&with(&|v| v["consentTimestamp"] = json!((T0 + 301) * 1000)), invalid, &["301 s after"]);
    refused(
        &with(&|v| v["expiresAt"] = json!(T0 - 1)),
        |e| matches!(e, Error::ConsentExpired { expired_at } if *expired_at == T0 - 1),
        &["expired", "fresh consent"],
    );
    refused(&with(&|v| v["expiresAt"] = json!(1_000)), invalid, &["expiresAt 1000 is not after consentTimestamp"]);
    refused(&with(&|v| v["version"] = json!("KI-CR-v2.0.0")), invalid, &["\"KI-CR-v2.0.0\"", "v1.1"]);
    refused(&with(&|v| v["jurisdiction"] = json!("")), invalid, &["jurisdiction is empty"]);
    refused(&with(&|v| v["collectionMethod"] = json!("")), invalid, &["collectionMethod is empty"]);
    refused(&with(&|v| v["consentReceiptID"] = json!("")), invalid, &["consentReceiptID is empty"]);
    refused(
        &with(&|v| v["services"][0]["purposes"][0]["purposeCategory"] = json!(["1 - Core Function"])),
        |e| matches!(e, Error::PurposeNotCovered { purpose, .. } if purpose == "authentication or identification"),
        &[
            "does not cover the purpose 'authentication or identification'",
            "\"To sign you in with your face instead of a password\"",
            "\"1 - Core Function\"",
            "\"5 - Personalized Experience\"",
        ],
    );
    // Fuzzy matches are not matches.
    refused(
        &with(&|v| v["services"][0]["purposes"][0]["purposeCategory"] = json!(["face authentication", "auth"])),
        |e| matches!(e, Error::PurposeNotCovered { .. }),
        &["\"face authentication\""],
    );
    // And the unchanged receipt is accepted by both.
    assert_eq!(with(&|_| {}).validate_for(T0, &vault_purposes()).unwrap(), vec!["authentication"]);
}

#[test]
fn version_1_0_receipts_are_refused_with_what_to_do() {
    unreadable(V1_0_WSO2_ERA, &["v1.0", "\"KI-CR-v1.0.0\"", "fidex reads v1.1 receipts", "Ask the consent platform for a v1.1 receipt"]);
    unreadable(V0_8_DRAFT, &["v1.0 (or earlier draft)", "version \"0.8\"", "field 'data_controller'", "v1.1"]);
    // The version alone decides, even with v1.1 field names.
    let mut v = value(SPEC_SHAPE);
    v["version"] = json!("KI-CR-v1.0.0");
    unreadable(&v.to_string(), &["v1.0", "KI-CR-v1.1.0"]);
    // No version, v1.0 names: still named as v1.0.
    let mut v = value(V1_0_WSO2_ERA);
    v.as_object_mut().unwrap().remove("version");
    unreadable(&v.to_string(), &["v1.0", "no version, field 'subject'"]);
    // A v1.1 receipt using one v1.0 name is told which.
    let mut v = value(SPEC_SHAPE);
    let o = v.as_object_mut().unwrap();
    let p = o.remove("piiPrincipalId").unwrap();
    o.insert("subject".into(), p);
    unreadable(&v.to_string(), &["piiPrincipalId is missing", "'subject'", "v1.0 name"]);
}

#[test]
fn unreadable_receipts_say_which_field_and_what_it_should_be() {
    let base = value(SPEC_SHAPE);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = base.clone();
        f(&mut v);
        v.to_string()
    };
    unreadable(&with(&|v| v["piiControllers"][0]["address"] = json!(42)), &["piiControllers[0].address", "postal-address object", "the number 42"]);
    unreadable(&with(&|v| v["consentTimestamp"] = json!("2025-06-15T10:00:00Z")), &["consentTimestamp", "seconds since 1970-01-01 UTC", "not a date text"]);
    unreadable(&with(&|v| v["consentTimestamp"] = json!(1.5e9)), &["consentTimestamp must be a whole number of seconds"]);
    unreadable(&with(&|v| v["consentTimestamp"] = json!(100_000_000_000_000i64)), &["larger than any date"]);
    unreadable(&with(&|v| v["sensitive"] = json!("true")), &["sensitive must be true or false", "the text \"true\""]);
    unreadable(&with(&|v| v["piiControllers"][0]["onBehalf"] = json!("no")), &["piiControllers[0].onBehalf must be true or false"]);
    unreadable(&with(&|v| v["services"][0]["purposes"][1]["purposeCategory"] = json!([5])), &["services[0].purposes[1].purposeCategory[0] must be text", "the number 5"]);
    unreadable(&with(&|v| v["services"][0]["purposes"][0]["piiCategory"] = json!([true])), &["services[0].purposes[0].piiCategory[0] must be text or an object"]);
    unreadable(&with(&|v| v["services"] = json!({"service": "x"})), &["services must be a list", "an object"]);
    unreadable(&with(&|v| { v.as_object_mut().unwrap().remove("piiPrincipalId"); }), &["piiPrincipalId is missing", "data subject"]);
    unreadable(&with(&|v| { v.as_object_mut().unwrap().remove("services"); }), &["services is missing"]);
    unreadable(
        &with(&|v| {
            v["services"][0]["purposes"][0].as_object_mut().unwrap().remove("consentType");
        }),
        &["services[0].purposes[0].consentType is missing", "EXPLICIT"],
    );
    unreadable(&with(&|v| v["policyURL"] = json!("https://x.example")), &["policyUrl and policyURL are both given"]);
    unreadable("[1, 2]", &["must be an object", "a list of 2 items"]);
    unreadable("{\"version\": ", &["not valid JSON"]);
    assert_eq!(ConsentReceipt::from_json("  "), Err(Error::NoConsent));
    // The spelling policyURL (used by some generators) is read as policyUrl.
    let alias = with(&|v| {
        let o = v.as_object_mut().unwrap();
        let u = o.remove("policyUrl").unwrap();
        o.insert("policyURL".into(), u);
    });
    assert_eq!(parse(&alias).policy_url, "https://lakeside-cu.example/privacy/biometrics");
}

#[test]
fn unknown_fields_round_trip_at_every_level() {
    let mut v = value(SPEC_SHAPE);
    v["x-issuer"] = json!({"signature": "ab12", "alg": "ES256"});
    v["piiControllers"][0]["dpo"] = json!(["a", {"b": null}]);
    v["piiControllers"][0]["address"]["addressLocality"] = json!("Chicago");
    v["services"][0]["serviceDescription"] = json!("Face sign-in");
    v["services"][0]["purposes"][1]["purposeId"] = json!(3);
    v["services"][0]["purposes"][0]["piiCategory"] = json!(["3 - Biometric", {"piiCategoryName": "faceTemplate", "validity": "days:90"}]);
    v["policyVersion"] = json!("2025-05");
    v["expiresAt"] = json!(T0 + 86_400);
    let text = v.to_string();
    let c = parse(&text);
    assert_eq!(c.extra["x-issuer"]["alg"], "ES256");
    assert_eq!(c.policy_version.as_deref(), Some("2025-05"));
    assert_eq!(c.expires_at, Some(T0 + 86_400));
    assert_eq!(value(&c.to_json()), v, "to_json must write back every field as given");
    assert_eq!(parse(&c.to_json()), c);
    // Stored compact in a vault and read back when it opens: unchanged.
    accepted_for(&c, &["authentication"]);
}

#[test]
fn explicit_builds_only_what_validate_accepts() {
    let now = SystemClock.now();
    let ok = ConsentReceipt::explicit("user-1", "Acme", "https://acme.example/privacy", &["authentication"], now - 60).unwrap();
    assert!(ok.validate(now).is_ok());
    let written = value(&ok.to_json());
    assert!(written["piiControllers"][0]["address"].is_object(), "address in v1.1 form: {written}");
    assert_eq!(written["version"], "KI-CR-v1.1.0");
    accepted_for(&ConsentReceipt::explicit_at("u", "Acme", "https://acme.example/p", &["identification"], T0 - 10, T0).unwrap(), &["identification"]);
    /// subject, controller, policy URL, purposes, consent time, words of the refusal.
    type Case<'a> = (&'a str, &'a str, &'a str, &'a [&'a str], i64, &'a str);
    let bad: [Case; 8] = [
        ("", "Acme", "https://acme.example/p", &["authentication"], now - 60, "piiPrincipalId is empty"),
        ("u", "", "https://acme.example/p", &["authentication"], now - 60, "piiControllers[0].piiController is empty"),
        ("u", "Acme", "acme.example/p", &["authentication"], now - 60, "not an http(s) URL"),
        ("u", "Acme", "mailto:dpo@acme.example", &["authentication"], now - 60, "not an http(s) URL"),
        ("u", "Acme", "https://acme.example/p", &[], now - 60, "lists no purpose"),
        ("u", "Acme", "https://acme.example/p", &["authentication", " "], now - 60, "purposes[1].purpose is empty"),
        ("u", "Acme", "https://acme.example/p", &["authentication"], 0, "consentTimestamp is 0"),
        ("u", "Acme", "https://acme.example/p", &["authentication"], now + 3600, "after the current time"),
    ];
    for (s, c, u, p, t, words) in bad {
        match ConsentReceipt::explicit(s, c, u, p, t) {
            Err(Error::InvalidConsent(m)) => assert!(m.contains(words), "{m}"),
            other => panic!("explicit({s:?}, {c:?}, {u:?}, {p:?}, {t}) gave {other:?}"),
        }
    }
}
