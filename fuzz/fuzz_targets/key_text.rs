//! VaultKey::import_text on arbitrary text; when it accepts, export_text is the canonical
//! (trimmed, lower-case) form of the input and round-trips to the same key.
#![no_main]
use fidex::VaultKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(k) = VaultKey::import_text(text) else { return };
    let out = k.export_text();
    assert_eq!(&*out, &text.trim().to_ascii_lowercase(), "export_text is not the canonical form of the accepted text");
    let back = VaultKey::import_text(&out).expect("export_text output imports");
    assert_eq!(back.expose_secret(), k.expose_secret());
    assert_eq!(back.fingerprint(), k.fingerprint());
    // Debug output must never reveal key material.
    let dbg = format!("{k:?}");
    assert!(!dbg.contains(&out[12..28]), "Debug leaks key digits");
});
