//! Consent records following the Kantara Initiative Consent Receipt Specification v1.1.
//!
//! Field names in JSON are those of the Kantara specification (`consentReceiptID`,
//! `piiPrincipalId`, `piiControllers`, `services[].purposes[]`, `sensitive`, `spiCat`, ...).
//! fidex adds two optional fields the specification leaves to extensions:
//! `policyVersion` and `expiresAt` (unix seconds).
//!
//! fidex accepts a receipt for a facial template only if it records *explicit* consent
//! (`consentType: "EXPLICIT"` on every purpose), is marked `sensitive: true`, lists
//! `biometric` among the sensitive categories, names a controller and a policy URL, and
//! is not expired. A search names a purpose; only templates whose receipt lists that
//! purpose can match it.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The Kantara specification version string fidex writes by default.
pub const KANTARA_VERSION: &str = "KI-CR-v1.1.0";

/// The purpose a login flow uses for 1:1 verification.
pub const PURPOSE_AUTHENTICATION: &str = "authentication";
/// The purpose for 1:N identification.
pub const PURPOSE_IDENTIFICATION: &str = "identification";

/// A consent receipt (Kantara CR v1.1).
///
/// ```
/// use fidex::ConsentReceipt;
/// let c = ConsentReceipt::explicit("user-42", "Acme Login", "https://acme.example/privacy",
///                                  &["authentication"], 1_700_000_000);
/// let json = c.to_json();
/// let back = ConsentReceipt::from_json(&json).unwrap();
/// assert_eq!(back, c);
/// assert!(back.covers("authentication"));
/// assert!(!back.covers("identification"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentReceipt {
    /// Specification version, e.g. `KI-CR-v1.1.0`.
    pub version: String,
    /// Jurisdiction of the controller, e.g. `US-IL` or `EU`.
    pub jurisdiction: String,
    /// When consent was given, unix seconds.
    pub consent_timestamp: i64,
    /// How consent was collected, e.g. `web form, explicit checkbox`.
    pub collection_method: String,
    /// Unique id of this receipt.
    #[serde(rename = "consentReceiptID")]
    pub consent_receipt_id: String,
    /// Public key of the receipt issuer, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Language of the receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The data subject's reference in the controller's system (pseudonymous is best).
    pub pii_principal_id: String,
    /// The controllers (at least one).
    pub pii_controllers: Vec<PiiController>,
    /// URL of the privacy policy the subject agreed to.
    pub policy_url: String,
    /// Version of that policy (fidex extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<String>,
    /// Services and their purposes.
    pub services: Vec<Service>,
    /// Whether sensitive data is processed (must be `true` for biometrics).
    pub sensitive: bool,
    /// Sensitive categories (must include `biometric`).
    #[serde(default)]
    pub spi_cat: Vec<String>,
    /// Consent expiry, unix seconds (fidex extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// A data controller named on the receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PiiController {
    /// Controller name.
    pub pii_controller: String,
    /// Contact person or role.
    #[serde(default)]
    pub contact: String,
    /// Postal address.
    #[serde(default)]
    pub address: String,
    /// Contact e-mail.
    #[serde(default)]
    pub email: String,
    /// Contact phone.
    #[serde(default)]
    pub phone: String,
    /// Controller website.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pii_controller_url: Option<String>,
}

/// A service and the purposes consented to for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// Service name.
    pub service: String,
    /// Purposes.
    pub purposes: Vec<Purpose>,
}

/// One purpose of processing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Purpose {
    /// Machine name of the purpose, matched by searches: e.g. `authentication`, `identification`.
    pub purpose: String,
    /// Kantara purpose categories, e.g. `["Core Function"]`.
    #[serde(default)]
    pub purpose_category: Vec<String>,
    /// Must be `EXPLICIT` for biometric data.
    pub consent_type: String,
    /// Categories of personal data, e.g. `["biometric template"]`.
    #[serde(default)]
    pub pii_category: Vec<String>,
    /// Whether this is the primary purpose.
    #[serde(default)]
    pub primary_purpose: bool,
    /// When processing for this purpose ends, in words.
    #[serde(default)]
    pub termination: String,
    /// Whether data is disclosed to third parties.
    #[serde(default)]
    pub third_party_disclosure: bool,
    /// Third party name, if disclosed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_party_name: Option<String>,
}

/// Largest accepted consent JSON (bytes).
pub const MAX_CONSENT_JSON: usize = 64 * 1024;

/// Tolerated clock skew for consent timestamps in the future (seconds).
const CLOCK_SKEW: i64 = 300;

impl ConsentReceipt {
    /// Builds a minimal valid explicit-consent receipt for biometric authentication,
    /// with a random receipt id. Fill the controller details before production use.
    pub fn explicit(
        subject: &str,
        controller: &str,
        policy_url: &str,
        purposes: &[&str],
        consent_timestamp: i64,
    ) -> ConsentReceipt {
        ConsentReceipt {
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
                contact: String::new(),
                address: String::new(),
                email: String::new(),
                phone: String::new(),
                pii_controller_url: None,
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
                        pii_category: vec!["biometric template".into()],
                        primary_purpose: true,
                        termination: "on withdrawal or after the retention period".into(),
                        third_party_disclosure: false,
                        third_party_name: None,
                    })
                    .collect(),
            }],
            sensitive: true,
            spi_cat: vec!["biometric".into()],
            expires_at: None,
        }
    }

    /// Parses receipt JSON. Empty text is [`Error::NoConsent`]; malformed text is
    /// [`Error::InvalidConsent`]. Does not check validity; see [`ConsentReceipt::validate`].
    pub fn from_json(json: &str) -> Result<ConsentReceipt> {
        if json.trim().is_empty() || json.trim() == "null" {
            return Err(Error::NoConsent);
        }
        if json.len() > MAX_CONSENT_JSON {
            return Err(Error::InvalidConsent(format!(
                "consent JSON is {} bytes; the limit is {MAX_CONSENT_JSON}",
                json.len()
            )));
        }
        serde_json::from_str(json).map_err(|e| Error::InvalidConsent(e.to_string()))
    }

    /// Serialises to pretty JSON (Kantara field names).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("consent receipts always serialise")
    }

    /// The purposes this receipt covers (lower-cased, explicit consent only).
    pub fn purposes(&self) -> BTreeSet<String> {
        self.services
            .iter()
            .flat_map(|s| s.purposes.iter())
            .filter(|p| p.consent_type.eq_ignore_ascii_case("explicit"))
            .map(|p| p.purpose.trim().to_ascii_lowercase())
            .collect()
    }

    /// Whether the receipt covers `purpose` (case-insensitive).
    pub fn covers(&self, purpose: &str) -> bool {
        self.purposes().contains(&purpose.trim().to_ascii_lowercase())
    }

    /// Checks the receipt is acceptable for storing a biometric template at time `now`.
    pub fn validate(&self, now: i64) -> Result<()> {
        let bad = |m: &str| Err(Error::InvalidConsent(m.to_string()));
        if !self.version.starts_with("KI-CR-v1.1") {
            return bad("version must be a Kantara Consent Receipt v1.1 version (KI-CR-v1.1.x)");
        }
        for (name, v) in [
            ("consentReceiptID", &self.consent_receipt_id),
            ("jurisdiction", &self.jurisdiction),
            ("collectionMethod", &self.collection_method),
            ("piiPrincipalId", &self.pii_principal_id),
        ] {
            if v.trim().is_empty() {
                return Err(Error::InvalidConsent(format!("{name} must not be empty")));
            }
        }
        if self.pii_controllers.is_empty()
            || self.pii_controllers.iter().any(|c| c.pii_controller.trim().is_empty())
        {
            return bad("at least one piiController with a name is required");
        }
        if !(self.policy_url.starts_with("https://") || self.policy_url.starts_with("http://")) {
            return bad("policyUrl must be an http(s) URL of the privacy policy");
        }
        let purposes: Vec<&Purpose> = self.services.iter().flat_map(|s| s.purposes.iter()).collect();
        if purposes.is_empty() {
            return bad("at least one service with one purpose is required");
        }
        for p in &purposes {
            if p.purpose.trim().is_empty() {
                return bad("every purpose needs a name");
            }
            if !p.consent_type.eq_ignore_ascii_case("explicit") {
                return Err(Error::InvalidConsent(format!(
                    "purpose '{}' has consentType '{}'; biometric data requires EXPLICIT consent",
                    p.purpose, p.consent_type
                )));
            }
        }
        if !self.sensitive {
            return bad("sensitive must be true: facial templates are biometric data");
        }
        if !self.spi_cat.iter().any(|c| c.to_ascii_lowercase().contains("biometric")) {
            return bad("spiCat must include 'biometric'");
        }
        if self.consent_timestamp <= 0 {
            return bad("consentTimestamp must be a positive unix time in seconds");
        }
        if self.consent_timestamp > now.saturating_add(CLOCK_SKEW) {
            return bad("consentTimestamp is in the future");
        }
        if let Some(exp) = self.expires_at {
            if exp <= self.consent_timestamp {
                return bad("expiresAt must be after consentTimestamp");
            }
            if exp <= now {
                return Err(Error::ConsentExpired { expired_at: exp });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> ConsentReceipt {
        ConsentReceipt::explicit("s", "Acme", "https://a.example/p", &["authentication"], 1000)
    }

    #[test]
    fn validation_rules() {
        assert!(good().validate(2000).is_ok());
        let mut c = good();
        c.services[0].purposes[0].consent_type = "IMPLICIT".into();
        assert!(matches!(c.validate(2000), Err(Error::InvalidConsent(_))));
        let mut c = good();
        c.sensitive = false;
        assert!(matches!(c.validate(2000), Err(Error::InvalidConsent(_))));
        let mut c = good();
        c.expires_at = Some(1500);
        assert!(matches!(c.validate(2000), Err(Error::ConsentExpired { expired_at: 1500 })));
        let mut c = good();
        c.consent_timestamp = 10_000;
        assert!(c.validate(2000).is_err());
        assert!(matches!(ConsentReceipt::from_json(" "), Err(Error::NoConsent)));
        assert!(matches!(ConsentReceipt::from_json("{"), Err(Error::InvalidConsent(_))));
    }

    #[test]
    fn kantara_field_names() {
        let j = good().to_json();
        for f in ["consentReceiptID", "piiPrincipalId", "piiControllers", "policyUrl", "consentType", "spiCat", "consentTimestamp", "collectionMethod"] {
            assert!(j.contains(f), "missing {f} in {j}");
        }
    }
}
