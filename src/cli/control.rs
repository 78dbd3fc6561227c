//! `hearth privacy`, `hearth status` and `hearth call`: the running device's
//! switch, state and calls over its control socket. When no device runs on
//! the data directory, `privacy` writes the saved state it will start with
//! (under the directory's lock); a device that holds the directory but does
//! not answer is an error.

use super::Context;
use hearth::device::socket::{request, request_or_lock, Reached, Request, Response};
use hearth::privacy::PrivacyState;

/// The privacy switch.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Switch {
    /// Camera and microphone off for everyone.
    On,
    /// Camera and microphone back for allowed contacts.
    Off,
    /// Like pressing the privacy button.
    Toggle,
}

/// Runs `hearth privacy`.
pub fn privacy(ctx: &Context, switch: Switch) -> anyhow::Result<()> {
    let on = match switch {
        Switch::On => Some(true),
        Switch::Off => Some(false),
        Switch::Toggle => None,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    match runtime.block_on(request_or_lock(&ctx.data_dir, &Request::Privacy { on }))? {
        Reached::Device(Response::Privacy { on }) => print_privacy(on, ""),
        Reached::Device(other) => anyhow::bail!("unexpected answer from the device: {other:?}"),
        Reached::Offline(_lock) => {
            let mut state = PrivacyState::load(&ctx.data_dir).unwrap_or(PrivacyState { on: true });
            state.apply(on.map_or(
                hearth::privacy::PrivacyInput::Press,
                hearth::privacy::PrivacyInput::Set,
            ));
            state.save(&ctx.data_dir)?;
            print_privacy(state.on, " (the device is not running; it starts this way)");
        }
    }
    Ok(())
}

fn print_privacy(on: bool, note: &str) {
    if on {
        println!("privacy ON: camera and microphone off for everyone{note}");
    } else {
        println!("privacy off: allowed contacts can watch and listen{note}");
    }
}

/// Runs `hearth call`.
pub fn call(ctx: &Context, who: String, end: bool) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    match runtime.block_on(request(&ctx.data_dir, &Request::Call { who, end }))? {
        Response::Call { name, on: true } => println!(
            "calling {name} and keeping the call up: your camera on their screen if they allow it, theirs on yours if you allowed `show_on_device` (`hearth call {name} --end` ends it)"
        ),
        Response::Call { name, on: false } => println!("the call to {name} has ended"),
        Response::Error { error } => anyhow::bail!("{error}"),
        other => anyhow::bail!("unexpected answer from the device: {other:?}"),
    }
    Ok(())
}

/// Runs `hearth status`.
pub fn status(ctx: &Context) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let status = match runtime.block_on(request(&ctx.data_dir, &Request::Status))? {
        Response::Status(status) => status,
        other => anyhow::bail!("unexpected answer from the device: {other:?}"),
    };
    let list = |names: &[String]| {
        if names.is_empty() {
            "nobody".to_string()
        } else {
            names.join(", ")
        }
    };
    println!(
        "privacy:   {}",
        if status.private {
            "ON (camera and microphone off)"
        } else {
            "off"
        }
    );
    println!("connected: {}", list(&status.connected));
    println!("watching:  {}", list(&status.watching));
    println!("talking:   {}", list(&status.talking));
    if let Some(name) = &status.showing {
        println!("on screen: {name} (their camera; NO takes it off)");
    }
    if !status.paths.is_empty() {
        let paths: Vec<String> = status
            .paths
            .iter()
            .map(|(name, path)| format!("{name} [{path}]"))
            .collect();
        println!("paths:     {}", paths.join(", "));
    }
    if status.outbox.is_empty() {
        println!("outbox:    empty");
    } else {
        println!("outbox:");
        for (name, waiting) in status.outbox {
            println!("  {name}: {waiting} waiting");
        }
    }
    println!(
        "inbox:     {} of {} used",
        hearth::share::inbox::human_bytes(status.inbox_bytes),
        hearth::share::inbox::human_bytes(status.inbox_max_bytes)
    );
    if let Some(full) = status.inbox_full {
        println!("INBOX FULL: {full}");
    }
    print_damaged(&status.damaged);
    Ok(())
}

/// "1 damaged share set aside in DIR", per folder, with what to do.
fn print_damaged(files: &[String]) {
    let mut by_dir: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for file in files {
        let path = std::path::Path::new(file);
        let dir = path
            .parent()
            .map_or_else(String::new, |d| d.display().to_string());
        by_dir.entry(dir).or_default().push(file.clone());
    }
    for (dir, files) in by_dir {
        let n = hearth::share::damaged::count_shares(&files);
        let shares = if n == 1 { "share" } else { "shares" };
        println!("DAMAGED:   {n} damaged {shares} set aside in {dir} (nothing was deleted; restore from a backup or delete them once looked at)");
    }
}

/// Runs `hearth press`.
pub fn press(
    ctx: &Context,
    button: hearth::hardware::buttons::Button,
    long: bool,
) -> anyhow::Result<()> {
    use hearth::hardware::buttons::{press, socket_path, Action};
    let action = if long {
        Action::LongPress
    } else {
        Action::Press
    };
    press(&socket_path(&ctx.data_dir), button, action)?;
    println!("pressed {button}");
    Ok(())
}
