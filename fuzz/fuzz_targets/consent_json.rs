//! ConsentReceipt::from_json on arbitrary text; validate never panics; whatever parses
//! round-trips through to_json / from_json (and through the compact form the vault stores).
#![no_main]
use fidex::consent::MAX_CONSENT_JSON;
use fidex::ConsentReceipt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(c) = ConsentReceipt::from_json(text) else { return };
    let vault_purposes: Vec<String> = ["authentication", "identification", "payments"].map(String::from).to_vec();
    for now in [i64::MIN, -1, 0, 1_750_000_000, c.consent_timestamp.saturating_sub(300), i64::MAX - 300, i64::MAX] {
        let valid = c.validate(now);
        // validate_for is validate plus "covers a vault purpose", and returns what it covers.
        match c.validate_for(now, &vault_purposes) {
            Ok(covered) => {
                assert!(valid.is_ok(), "validate_for accepts what validate refuses: {valid:?}");
                assert!(!covered.is_empty());
                assert_eq!(covered, c.covered_purposes(&vault_purposes));
            }
            Err(fidex::Error::PurposeNotCovered { .. }) => {
                assert!(valid.is_ok() && c.covered_purposes(&vault_purposes).is_empty());
            }
            Err(e) => assert_eq!(Err(e), valid),
        }
    }
    let purposes = c.purposes();
    for p in &purposes {
        assert!(c.covers(p), "purposes() lists {p:?} but covers() denies it");
        assert!(c.covers(&p.to_ascii_uppercase()));
        assert!(c.covers(&format!("  {p} ")));
    }
    for p in &vault_purposes {
        assert_eq!(c.covers(p), purposes.contains(p));
    }
    let pretty = c.to_json();
    // The 64 KiB limit applies to the text, and re-serialising can grow it (pretty-printing,
    // empty lists written out): a receipt within the limit may not be re-readable. Known
    // issue, see `consent_larger_than_the_json_limit_bricks_the_vault` in tests/model.rs.
    if pretty.len() <= MAX_CONSENT_JSON {
        let back = ConsentReceipt::from_json(&pretty).expect("to_json output parses");
        assert_eq!(back, c, "pretty round trip changed the receipt");
        assert_eq!(back.to_json(), pretty, "to_json is not stable");
    }
    // The vault stores the compact form and re-reads it with from_json when it opens.
    let compact = serde_json::to_string(&c).unwrap();
    if compact.len() <= MAX_CONSENT_JSON {
        let back = ConsentReceipt::from_json(&compact).expect("compact form parses");
        assert_eq!(back, c, "compact round trip changed the receipt");
    }
});
