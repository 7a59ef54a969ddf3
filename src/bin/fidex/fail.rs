//! Errors of the CLI: a `fidex::Error` (so every failure has the library's stable numeric
//! code), the process exit code it maps to, and what the user can do about it.

use fidex::Error;
use std::fmt;

/// Exit codes. Stable: scripts rely on them. Keep in sync with [`EXIT_CODES_HELP`].
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Anything not listed below (quota exceeded, vault closed, not committed yet, internal errors).
    pub const OTHER: u8 = 1;
    /// Bad usage or invalid input (arguments, vector files, manifests, configuration).
    pub const USAGE: u8 = 2;
    /// No such vault, or no live template with that Facial ID.
    pub const NOT_FOUND: u8 = 3;
    /// Consent missing, invalid, expired or not covering the purpose.
    pub const CONSENT: u8 = 4;
    /// Enrollment refused as a duplicate of an enrolled template.
    pub const DUPLICATE: u8 = 5;
    /// Key missing, unreadable, malformed, or not the key of this vault.
    pub const KEY: u8 = 6;
    /// Vault data corrupt or tampered with, or written by an unsupported format version.
    pub const CORRUPT: u8 = 7;
    /// A receipt, tree head or consistency proof did not verify.
    pub const VERIFICATION: u8 = 8;
    /// Operating-system I/O error (files, permissions, disk full).
    pub const IO: u8 = 9;
    /// `verify` did not match, or an `identify` probe matched nobody (not an error).
    pub const NO_MATCH: u8 = 10;
    /// The vault is open in another process.
    pub const LOCKED: u8 = 11;
    /// Refused to overwrite: the vault, key file or output file already exists.
    pub const EXISTS: u8 = 12;
}

/// The exit-code table shown in `fidex --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
   0  success
   1  other error (quota exceeded, vault closed, not committed yet, internal error)
   2  usage error or invalid input (arguments, vector file, manifest, configuration)
   3  not found (no vault at the path, no live template with that Facial ID)
   4  consent refused (missing, invalid, expired, or not covering the purpose)
   5  duplicate (the face is already enrolled)
   6  key problem (no key given, unreadable or malformed key, wrong key for the vault)
   7  vault corrupt or tampered with (or unsupported format version)
   8  verification failed (receipt, tree head or consistency proof)
   9  I/O error
  10  no match (verify did not match; an identify probe matched nobody)
  11  vault locked by another process
  12  already exists (refusing to overwrite a vault, key file or output file)

Keys are never accepted on the command line (they would show in `ps`): pass
--key-file FILE, or set FIDEX_KEY_FILE=FILE, or FIDEX_KEY=<key text>.

With --json, results are JSON on stdout and errors one JSON object on stderr:
{\"error\":{\"code\":<fidex error code>,\"exit_code\":N,\"message\":...,\"hint\":...}}";

/// The exit code of a library error: that of its status code.
pub fn exit_code(e: &Error) -> u8 {
    exit_for_status(e.code())
}

/// The exit code of a status code, by its family in [`fidex::STATUS_TABLE`] (docs/CLI.md
/// lists the codes of each exit; a unit test checks that list against this function).
pub fn exit_for_status(code: u32) -> u8 {
    let Some(row) = fidex::status_info(code) else {
        return exit::OTHER;
    };
    // A malformed key text is an input error to the library, but for an operator it is a
    // key problem like a wrong key.
    if row.name == "FIDEX_INVALID_KEY_TEXT" {
        return exit::KEY;
    }
    match row.family {
        "ok" => exit::OK,
        "invalid_input" => exit::USAGE,
        "not_found" => exit::NOT_FOUND,
        "consent" | "purpose_not_covered" => exit::CONSENT,
        "duplicate" => exit::DUPLICATE,
        "wrong_key" => exit::KEY,
        "corrupt" => exit::CORRUPT,
        "verification_failed" => exit::VERIFICATION,
        "io" => exit::IO,
        "locked" => exit::LOCKED,
        "already_exists" => exit::EXISTS,
        // quota, closed, not_committed, internal
        _ => exit::OTHER,
    }
}

fn default_hint(e: &Error) -> Option<String> {
    Some(
        match e {
            Error::WrongKey => "use the key this vault was created (or last rotated) with: check --key-file, FIDEX_KEY_FILE and FIDEX_KEY",
            Error::InvalidKeyText(_) => "a vault key file holds one line 'fidex-key-1:…' as written by `fidex key new`; a verification key looks like 'fidex-vk-1:…'",
            Error::NotAVault(_) => "check the path; create a vault with `fidex create VAULT --dim N`",
            Error::NotFound | Error::NotFoundId(_) => "list what the vault holds with `fidex stats` or `fidex audit`; the template may already be deleted",
            Error::Locked => "another fidex process has this vault open; wait for it to finish and retry",
            Error::Corrupt(_) => "run `fidex check VAULT`; restore the vault directory from a backup if it fails",
            Error::NoConsent => "pass --consent FILE with the subject's Kantara consent receipt (JSON)",
            Error::ConsentExpired { .. } => "collect fresh consent from the subject and pass the new receipt",
            Error::UnknownPurpose(_) => "use one of the purposes the vault was created with (see `fidex stats VAULT`)",
            Error::AlreadyExists(_) => "choose another path or remove the existing one first",
            Error::DimensionMismatch { .. } => "the vectors must come from the face model the vault was created for (`fidex info VAULT` shows its dimension)",
            Error::Duplicate { .. } => "this face is already enrolled; delete the existing Facial ID first if this is a re-enrollment",
            _ => return None,
        }
        .to_string(),
    )
}

/// A failed command.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong, as a library error (gives the stable numeric code).
    pub error: Error,
    /// Where it happened (a file, an entry), prefixed to the message.
    pub context: Option<String>,
    /// A message to show instead of the error's own (for CLI-level problems).
    pub display: Option<String>,
    /// What to do about it.
    pub hint: Option<String>,
    /// Process exit code.
    pub exit: u8,
}

impl Failure {
    pub fn new(error: Error) -> Failure {
        Failure {
            exit: exit_code(&error),
            hint: default_hint(&error),
            context: None,
            display: None,
            error,
        }
    }

    /// Invalid input (exit 2).
    pub fn usage(msg: impl Into<String>) -> Failure {
        let msg = msg.into();
        Failure {
            display: Some(msg.clone()),
            ..Failure::new(Error::InvalidArgument(msg))
        }
    }

    /// A key problem (exit 6).
    pub fn key(msg: impl Into<String>, hint: impl Into<String>) -> Failure {
        let msg = msg.into();
        Failure {
            error: Error::InvalidKeyText(msg.clone()),
            context: None,
            display: Some(msg),
            hint: Some(hint.into()),
            exit: exit::KEY,
        }
    }

    /// An I/O error on `path`; a file that already exists maps to exit 12.
    pub fn io(what: impl fmt::Display, e: std::io::Error) -> Failure {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            let mut f = Failure::new(Error::AlreadyExists(what.to_string()));
            f.display = Some(format!("{what} already exists"));
            f.hint = Some(
                "refusing to overwrite it: choose another path or remove the file first".into(),
            );
            return f;
        }
        Failure::new(Error::io(what, e))
    }

    pub fn context(mut self, c: impl Into<String>) -> Failure {
        self.context = Some(c.into());
        self
    }

    pub fn exit(mut self, code: u8) -> Failure {
        self.exit = code;
        self
    }

    pub fn hint(mut self, h: impl Into<String>) -> Failure {
        self.hint = Some(h.into());
        self
    }

    /// The full message (context + error).
    pub fn message(&self) -> String {
        let m = self
            .display
            .clone()
            .unwrap_or_else(|| self.error.to_string());
        match &self.context {
            Some(c) => format!("{c}: {m}"),
            None => m,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": {
                "code": self.error.code(),
                "kind": Error::describe_code(self.error.code()),
                "exit_code": self.exit,
                "message": self.message(),
                "hint": self.hint,
            }
        })
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::new(e)
    }
}

/// Result of a command: the exit code on success (0, or 10 for "no match").
pub type CmdResult = Result<u8, Failure>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The exit-code table of docs/CLI.md: (exit code, the fidex codes listed for it).
    fn documented_exits() -> Vec<(u8, Vec<u32>)> {
        let doc = include_str!("../../../docs/CLI.md");
        let table = doc.split("## Exit codes").nth(1).expect("docs/CLI.md has an exit-code table");
        let mut out = Vec::new();
        let rows = table.lines().skip_while(|l| !l.starts_with('|')).take_while(|l| l.starts_with('|'));
        for line in rows.filter(|l| !l.starts_with("| code") && !l.starts_with("| ---")) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let exit: u8 = cells[1].parse().unwrap_or_else(|_| panic!("exit code in {line:?}"));
            let mut codes = Vec::new();
            for part in cells[3].split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match part.split_once('–') {
                    Some((a, b)) => codes.extend(a.parse::<u32>().unwrap()..=b.parse::<u32>().unwrap()),
                    None => codes.push(part.parse().unwrap_or_else(|_| panic!("code {part:?} in {line:?}"))),
                }
            }
            out.push((exit, codes));
        }
        out
    }

    #[test]
    fn exit_codes_follow_the_status_table_as_documented() {
        let documented = documented_exits();
        assert!(documented.len() >= 12, "{documented:?}");
        let mut listed = std::collections::BTreeSet::new();
        for (exit, codes) in &documented {
            for code in codes {
                assert_eq!(exit_for_status(*code), *exit, "fidex error {code} is documented under exit {exit}");
                assert!(listed.insert(*code), "fidex error {code} is listed twice");
            }
        }
        for row in fidex::STATUS_TABLE.iter().filter(|r| (1001..1100).contains(&r.code)) {
            assert!(listed.contains(&row.code), "{} ({}) is missing from the exit-code table of docs/CLI.md", row.name, row.code);
        }
        assert_eq!(exit_code(&Error::InvalidKeyText("x".into())), exit::KEY);
        assert_eq!(exit_code(&Error::BatchItem { index: 1, error: Box::new(Error::NoConsent) }), exit::CONSENT);
    }
}
