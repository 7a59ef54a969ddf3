//! Subject rights: `fidex export-subject` (access, portability) and
//! `fidex processing-record`.

use crate::args::*;
use crate::common::*;
use crate::fail::{exit, CmdResult, Failure};
use crate::keys;
use crate::output::{self, Ctx};
use fidex::Error;
use serde_json::json;

pub fn export_subject(ctx: &Ctx, a: &ExportArgs) -> CmdResult {
    let id = facial_id(&a.facial_id)?;
    if let Some(o) = &a.out {
        preflight_new(o)?;
    }
    let vault = open(&a.vault)?;
    let export = vault
        .export_subject(&id, a.include_template)
        .map_err(Failure::new)?;
    commit(&vault, ctx)?; // the export itself is logged
    let text = serde_json::to_string_pretty(&export)
        .map_err(|e| Failure::new(Error::InvalidJson(e.to_string())))?;
    match &a.out {
        Some(o) => {
            keys::write_private(o, format!("{text}\n").as_bytes())?;
            ctx.emit(&json!({"facial_id": id, "out": o, "template_included": a.include_template}));
            ctx.say(format!(
                "Exported the record of {id} to {} (mode 0600; template {}). The export is logged in the audit log.",
                o.display(),
                if a.include_template {
                    "included: this file is biometric data"
                } else {
                    "not included"
                }
            ));
        }
        None => output::out(&text),
    }
    Ok(exit::OK)
}

pub fn processing_record(_ctx: &Ctx, v: &VaultArgs) -> CmdResult {
    let vault = open_read_only(v)?;
    let rec = vault.processing_record();
    output::out(&serde_json::to_string_pretty(&rec).expect("JSON values serialise"));
    Ok(exit::OK)
}
