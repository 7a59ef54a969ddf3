//! `fidex`: operator and auditor tooling for fidex vaults. Run `fidex --help`.
//!
//! One module per concept, as in the C ABI (`src/ffi`): `keys`, `vault` (create, info,
//! stats), `enroll`, `search` (identify, verify), `erasure` (delete, withdraw, purge),
//! `transparency` (receipt verify, audit), `subject` (export, record of processing),
//! `admin` (check, rotate-key, compact), `demo`; and the shared machinery: `args` (the
//! command line), `common`, `fail` (errors and exit codes), `output`, `timefmt`, `vectors`.

#![forbid(unsafe_code)]

mod admin;
mod args;
mod common;
mod demo;
mod enroll;
mod erasure;
mod fail;
mod keys;
mod output;
mod search;
mod subject;
mod timefmt;
mod transparency;
mod vault;
mod vectors;

use args::{Cli, Cmd, KeyCmd, ReceiptCmd};
use clap::Parser;
use fail::{CmdResult, Failure};
use output::Ctx;
use std::process::ExitCode;

fn dispatch(ctx: &Ctx, cmd: &Cmd) -> CmdResult {
    match cmd {
        Cmd::Key(KeyCmd::New { file }) => keys::key_new(ctx, file),
        Cmd::Key(KeyCmd::Public { vault, out, all }) => {
            keys::key_public(ctx, vault, out.as_deref(), *all)
        }
        Cmd::Key(KeyCmd::Fingerprint { key }) => keys::key_fingerprint(ctx, key),
        Cmd::Create(a) => vault::create(ctx, a),
        Cmd::Info(a) => vault::info(ctx, a),
        Cmd::Stats(v) => vault::stats(ctx, v),
        Cmd::Check(a) => admin::check(ctx, a),
        Cmd::Enroll(a) => enroll::enroll(ctx, a),
        Cmd::Identify(a) => search::identify(ctx, a),
        Cmd::Verify(a) => search::verify(ctx, a),
        Cmd::Delete(a) => erasure::delete(ctx, a),
        Cmd::Purge(a) => erasure::purge(ctx, a),
        Cmd::Withdraw(a) => erasure::withdraw(ctx, a),
        Cmd::Receipt(ReceiptCmd::Verify(a)) => transparency::receipt_verify(ctx, a),
        Cmd::Receipt(ReceiptCmd::Monitor(a)) => transparency::receipt_monitor(ctx, a),
        Cmd::Receipt(ReceiptCmd::Issue(a)) => transparency::receipt_issue(ctx, a),
        Cmd::Receipt(ReceiptCmd::PublishHead(a)) => transparency::receipt_publish_head(ctx, a),
        Cmd::Audit(a) => transparency::audit(ctx, a),
        Cmd::ExportSubject(a) => subject::export_subject(ctx, a),
        Cmd::ProcessingRecord(v) => subject::processing_record(ctx, v),
        Cmd::RotateKey(a) => admin::rotate_key(ctx, a),
        Cmd::Compact(v) => admin::compact(ctx, v),
        Cmd::Demo(a) => demo::demo(ctx, a),
    }
}

fn report(ctx: &Ctx, f: &Failure) {
    if ctx.json {
        eprintln!("{}", f.to_json());
    } else {
        eprintln!("fidex: error: {}", f.message());
        if let Some(h) = &f.hint {
            eprintln!("fidex: hint: {h}");
        }
        eprintln!(
            "fidex: (fidex error {}, exit code {}; see `fidex --help` for the table)",
            f.error.code(),
            f.exit
        );
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    let receipt_dir = cli.receipt_dir.clone().or_else(|| {
        std::env::var_os("FIDEX_RECEIPT_DIR")
            .filter(|v| !v.is_empty())
            .map(Into::into)
    });
    let ctx = Ctx {
        json: cli.json,
        receipt_dir,
    };
    match dispatch(&ctx, &cli.cmd) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            report(&ctx, &f);
            ExitCode::from(f.exit)
        }
    }
}
