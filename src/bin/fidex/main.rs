//! `fidex`: operator and auditor tooling for fidex vaults. Run `fidex --help`.

mod args;
mod commands;
mod common;
mod demo;
mod enroll;
mod fail;
mod keys;
mod output;
mod timefmt;
mod vectors;

use args::{Cli, Cmd, KeyCmd, ReceiptCmd};
use clap::Parser;
use fail::{CmdResult, Failure};
use output::Ctx;
use std::process::ExitCode;

fn dispatch(ctx: &Ctx, cmd: &Cmd) -> CmdResult {
    match cmd {
        Cmd::Key(KeyCmd::New { file }) => commands::key_new(ctx, file),
        Cmd::Key(KeyCmd::Public { vault, out, all }) => {
            commands::key_public(ctx, vault, out.as_deref(), *all)
        }
        Cmd::Key(KeyCmd::Fingerprint { key }) => commands::key_fingerprint(ctx, key),
        Cmd::Create(a) => commands::create(ctx, a),
        Cmd::Info(a) => commands::info(ctx, a),
        Cmd::Stats(v) => commands::stats(ctx, v),
        Cmd::Check(v) => commands::check(ctx, v),
        Cmd::Enroll(a) => enroll::enroll(ctx, a),
        Cmd::Identify(a) => commands::identify(ctx, a),
        Cmd::Verify(a) => commands::verify(ctx, a),
        Cmd::Delete(a) => commands::delete(ctx, a),
        Cmd::Purge(a) => commands::purge(ctx, a),
        Cmd::Withdraw(a) => commands::withdraw(ctx, a),
        Cmd::Receipt(ReceiptCmd::Verify(a)) => commands::receipt_verify(ctx, a),
        Cmd::Audit(a) => commands::audit(ctx, a),
        Cmd::ExportSubject(a) => commands::export_subject(ctx, a),
        Cmd::ProcessingRecord(v) => commands::processing_record(ctx, v),
        Cmd::RotateKey(a) => commands::rotate_key(ctx, a),
        Cmd::Compact(v) => commands::compact(ctx, v),
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
