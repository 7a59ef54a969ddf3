//! ConsentReceipt::from_json on arbitrary text; validate never panics; whatever parses
//! round-trips through to_json / from_json (and through the compact form the vault stores).
#![no_main]
use fidex::consent::MAX_CONSENT_JSON;
use fidex::ConsentReceipt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(c) = ConsentReceipt::from_json(text) else { return };
    // `now` stops 300 s short of i64::MAX: validate computes `now + CLOCK_SKEW` unchecked
    // (known overflow, see `consent_validate_overflows_near_the_end_of_time` in tests/model.rs).
    for now in [i64::MIN, -1, 0, 1_750_000_000, c.consent_timestamp.saturating_sub(300), i64::MAX - 300] {
        let _ = c.validate(now);
    }
    let purposes = c.purposes();
    for p in &purposes {
        assert!(c.covers(p), "purposes() lists {p:?} but covers() denies it");
        assert!(c.covers(&p.to_ascii_uppercase()));
    }
    let pretty = c.to_json();
    // The 64 KiB limit applies to the text, and re-serialising can grow it (defaults are
    // written out): a receipt within the limit may not be re-readable. Known issue, see
    // `consent_larger_than_the_json_limit_bricks_the_vault` in tests/model.rs.
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
