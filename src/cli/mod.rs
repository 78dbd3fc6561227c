//! Command-line interface: turns raw arguments into validated settings and
//! runs the chosen command. The only place that uses `anyhow`.

mod contacts;
mod control;
mod id;
mod outbox_stress;
mod relay;
mod run;
mod share;
mod watch;
mod watch_sending;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Hearth: a private, peer-to-peer family camera.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Where this device keeps its identity, contacts and shares.
    #[arg(long, global = true, env = "HEARTH_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Configuration file (TOML); without it the embedded defaults are used.
    #[arg(long, global = true, env = "HEARTH_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the device (the default when no command is given).
    Run,
    /// Show this device's contact code, as text and as a QR code.
    Id(id::IdArgs),
    /// List, add, approve, remove contacts and set what they may see.
    #[command(subcommand)]
    Contacts(contacts::ContactsCommand),
    /// Run the signalling relay (forwards sealed envelopes, stores nothing).
    Relay(relay::RelayArgs),
    /// Watch a contact's camera from the terminal; reconnects by itself.
    Watch(watch::WatchArgs),
    /// Share a snapshot, a photo or a thought (`hearth run` must be running).
    Share(share::ShareArgs),
    /// List what contacts shared with this device, or remove shares to make room.
    Inbox(share::InboxArgs),
    /// Turn privacy on or off: camera and microphone off for everyone.
    Privacy {
        /// on, off or toggle.
        #[arg(value_enum)]
        switch: control::Switch,
    },
    /// Privacy, connected contacts, who is watching, and the outbox.
    Status,
    /// Have the running device call a contact (another Hearth) and keep the
    /// call up both ways: its camera there, theirs here, as each owner allows.
    Call {
        /// Name or key (prefix) of the contact.
        who: String,
        /// End the call instead.
        #[arg(long)]
        end: bool,
    },
    /// Press a button of the running device: privacy, snapshot, yes or no.
    Press {
        /// The button.
        button: hearth::hardware::buttons::Button,
        /// A long press.
        #[arg(long)]
        long: bool,
    },
    /// Test aid: queue shares in the outbox in a loop, printing each id once it is durable.
    #[command(hide = true)]
    OutboxStress,
}

/// Shared context for every command.
pub struct Context {
    /// The data directory, created if missing.
    pub data_dir: PathBuf,
    /// The loaded configuration.
    pub config: hearth::config::Config,
}

/// Parses the command line and runs it.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging();
    // The relay stores nothing: it starts before a data directory is made.
    let command = match cli.command {
        Some(Command::Relay(args)) => return relay::run(args),
        other => other,
    };
    let data_dir = cli.data_dir.unwrap_or_else(default_data_dir);
    std::fs::create_dir_all(&data_dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create data directory {}: {e} (pass --data-dir to use another)",
            data_dir.display()
        )
    })?;
    let config = hearth::config::Config::load(cli.config.as_deref())?;
    let ctx = Context { data_dir, config };
    match command {
        Some(Command::Id(args)) => id::run(&ctx, args),
        Some(Command::Contacts(cmd)) => contacts::run(&ctx, cmd),
        Some(Command::Relay(_)) => unreachable!("the relay ran above"),
        Some(Command::Watch(args)) => watch::run(&ctx, args),
        Some(Command::Share(args)) => share::share(&ctx, args),
        Some(Command::Inbox(args)) => share::inbox(&ctx, args),
        Some(Command::Privacy { switch }) => control::privacy(&ctx, switch),
        Some(Command::Status) => control::status(&ctx),
        Some(Command::Press { button, long }) => control::press(&ctx, button, long),
        Some(Command::Call { who, end }) => control::call(&ctx, who, end),
        Some(Command::OutboxStress) => outbox_stress::run(&ctx),
        Some(Command::Run) | None => run::run(&ctx),
    }
}

/// Info for Hearth; the WebRTC stack only when something is really wrong (it
/// warns about harmless early connectivity checks on every connection).
const DEFAULT_LOG_FILTER: &str = "info,rtc=error,webrtc=error";

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HEARTH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(dir).join("hearth");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".local/share/hearth");
    }
    PathBuf::from("hearth-data")
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}
