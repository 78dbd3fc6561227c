//! `hearth contacts …`: the owner manages who may see what — people, and
//! token contacts for standard (WHEP) players. A running device makes each
//! change itself (it is the only writer of its book) and a revoked contact's
//! sessions end at once; with no device running, the change is written here.

use super::Context;
use hearth::contacts::{
    describe, ChangeOutcome, ContactBook, ContactChange, ContactStatus, Permission,
};
use hearth::device::socket::{request_or_lock, Reached, Request, Response};
use hearth::identity::Identity;
use hearth::whep::token;

/// Subcommands of `hearth contacts`.
#[derive(clap::Subcommand)]
pub enum ContactsCommand {
    /// List contacts, their status and permissions.
    List,
    /// Add a contact from its contact code (approved, with nothing allowed yet).
    Add {
        /// The contact code (`hearth1.…`).
        code: String,
        /// The name to know the contact by (default: the name in its code).
        #[arg(long)]
        name: Option<String>,
        /// Permissions to grant at once, comma-separated.
        #[arg(long, value_delimiter = ',')]
        allow: Vec<String>,
    },
    /// Add a token contact for a standard player (WHEP): prints its bearer
    /// token once; only the token's hash is stored.
    AddToken {
        /// The name to know the player by, e.g. "Living-room TV".
        name: String,
        /// Permissions to grant at once, comma-separated (live_video, live_audio).
        #[arg(long, value_delimiter = ',')]
        allow: Vec<String>,
    },
    /// Approve a pending pairing request.
    Approve {
        /// Name or key (prefix) of the contact.
        who: String,
    },
    /// Remove a contact; its sessions end at once.
    Remove {
        /// Name or key (prefix) of the contact.
        who: String,
    },
    /// Grant permissions: live_video, live_audio, snapshots, talk_back, show_on_device.
    Allow {
        /// Name or key (prefix) of the contact.
        who: String,
        /// Comma-separated permissions.
        #[arg(value_delimiter = ',', required = true)]
        permissions: Vec<String>,
    },
    /// Withdraw permissions; sessions that relied on them end at once.
    Deny {
        /// Name or key (prefix) of the contact.
        who: String,
        /// Comma-separated permissions.
        #[arg(value_delimiter = ',', required = true)]
        permissions: Vec<String>,
    },
}

/// Runs `hearth contacts …`. A change goes to the running device, which
/// applies and saves it before answering; with no device running, it is made
/// here under the data directory's lock. Either way, it has taken effect when
/// this returns.
pub fn run(ctx: &Context, command: ContactsCommand) -> anyhow::Result<()> {
    let mut token = None;
    let change = match command {
        ContactsCommand::List => {
            print_list(&ContactBook::load(&ctx.data_dir)?);
            return Ok(());
        }
        ContactsCommand::Add { code, name, allow } => ContactChange::Add {
            code,
            name,
            allow: parse_permissions(&allow)?,
        },
        ContactsCommand::AddToken { name, allow } => {
            let secret = token::generate();
            let change = ContactChange::AddToken {
                name,
                token_sha256: token::hash(&secret),
                allow: parse_permissions(&allow)?,
            };
            token = Some(secret);
            change
        }
        ContactsCommand::Approve { who } => ContactChange::Approve { who },
        ContactsCommand::Remove { who } => ContactChange::Remove { who },
        ContactsCommand::Allow { who, permissions } => ContactChange::Allow {
            who,
            permissions: parse_permissions(&permissions)?,
        },
        ContactsCommand::Deny { who, permissions } => ContactChange::Deny {
            who,
            permissions: parse_permissions(&permissions)?,
        },
    };
    let outcome = apply(ctx, change)?;
    match token {
        Some(secret) => print_token(ctx, &outcome, &secret),
        None => println!("{}", outcome.message),
    }
    Ok(())
}

/// Sends `change` to the running device, or applies it to the files under the lock.
fn apply(ctx: &Context, change: ContactChange) -> anyhow::Result<ChangeOutcome> {
    let runtime = tokio::runtime::Runtime::new()?;
    let request = Request::Contacts {
        change: change.clone(),
    };
    match runtime.block_on(request_or_lock(&ctx.data_dir, &request))? {
        Reached::Device(Response::Contacts(outcome)) => Ok(outcome),
        Reached::Device(other) => anyhow::bail!("unexpected answer from the device: {other:?}"),
        Reached::Offline(_lock) => {
            let own = Identity::load_or_create(&ctx.data_dir)?.peer_key();
            let mut book = ContactBook::load(&ctx.data_dir)?;
            let outcome = change.apply(&mut book, &own)?;
            book.save(&ctx.data_dir)?;
            Ok(outcome)
        }
    }
}

fn parse_permissions(names: &[String]) -> anyhow::Result<Vec<Permission>> {
    names
        .iter()
        .filter(|n| !n.trim().is_empty())
        .map(|n| n.parse::<Permission>().map_err(Into::into))
        .collect()
}

fn print_token(ctx: &Context, contact: &ChangeOutcome, secret: &str) {
    println!("{}", contact.message);
    println!("Its bearer token, shown only this once (only its hash is kept):");
    println!("token: {secret}");
    println!(
        "Players use it for WHEP at http://{}/whep (header `Authorization: Bearer TOKEN`).",
        ctx.config.http.listen
    );
    println!(
        "Revoke with `hearth contacts remove {}` or `hearth contacts deny {} live_video,live_audio`.",
        contact.name, contact.name
    );
}

fn print_list(book: &ContactBook) {
    let mut any = false;
    for contact in book.iter() {
        any = true;
        let status = match (contact.status, contact.is_token()) {
            (ContactStatus::Approved, false) => "approved",
            (ContactStatus::Approved, true) => "token (WHEP)",
            (ContactStatus::Pending, _) => "PENDING (hearth contacts approve NAME)",
        };
        println!(
            "{:<20} {:<10} {}  allowed: {}",
            contact.name,
            contact.key.short(),
            status,
            describe(&contact.permissions)
        );
    }
    if !any {
        println!("No contacts yet. Share `hearth id` with family, or add theirs with `hearth contacts add CODE`.");
    }
}
