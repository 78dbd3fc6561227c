//! `hearth contacts …`: the owner manages who may see what — people, and
//! token contacts for standard (WHEP) players. Changes are written atomically;
//! a running device picks them up at once, and a revoked contact's sessions end.

use super::Context;
use hearth::contacts::{Contact, ContactBook, ContactStatus, Permission};
use hearth::identity::ContactCode;
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
    /// Grant permissions: live_video, live_audio, snapshots, talk_back.
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

/// Runs `hearth contacts …`.
pub fn run(ctx: &Context, command: ContactsCommand) -> anyhow::Result<()> {
    let dir = &ctx.data_dir;
    let mut book = ContactBook::load(dir)?;
    match command {
        ContactsCommand::List => {
            print_list(&book);
            return Ok(());
        }
        ContactsCommand::Add { code, name, allow } => {
            let code = ContactCode::parse(&code)?;
            let permissions = parse_permissions(&allow)?;
            let contact = book.upsert(&code, ContactStatus::Approved).clone();
            let entry = book.find_mut(&contact.key.to_string())?;
            if let Some(name) = name {
                entry.name = name;
            }
            for p in permissions {
                entry.permissions.set(p, true);
            }
            println!("Added {} ({}).", entry.name, entry.key.short());
        }
        ContactsCommand::AddToken { name, allow } => {
            let permissions = parse_permissions(&allow)?;
            let secret = token::generate();
            let mut contact = Contact::token(name.trim(), token::hash(&secret));
            for p in permissions {
                contact.permissions.set(p, true);
            }
            let contact = book.add(contact)?.clone();
            book.save(dir)?;
            print_token(ctx, &contact, &secret);
            return Ok(());
        }
        ContactsCommand::Approve { who } => {
            let entry = book.find_mut(&who)?;
            entry.status = ContactStatus::Approved;
            println!(
                "Approved {}. Nothing is shared with them yet; use `hearth contacts allow`.",
                entry.name
            );
        }
        ContactsCommand::Remove { who } => {
            let removed = book.remove(&who)?;
            println!("Removed {}.", removed.name);
        }
        ContactsCommand::Allow { who, permissions } => {
            let permissions = parse_permissions(&permissions)?;
            let entry = book.find_mut(&who)?;
            for p in permissions {
                entry.permissions.set(p, true);
            }
            println!("{} may now: {}.", entry.name, describe(&entry.permissions));
        }
        ContactsCommand::Deny { who, permissions } => {
            let permissions = parse_permissions(&permissions)?;
            let entry = book.find_mut(&who)?;
            for p in permissions {
                entry.permissions.set(p, false);
            }
            println!("{} may now: {}.", entry.name, describe(&entry.permissions));
        }
    }
    book.save(dir)?;
    Ok(())
}

fn parse_permissions(names: &[String]) -> anyhow::Result<Vec<Permission>> {
    names
        .iter()
        .filter(|n| !n.trim().is_empty())
        .map(|n| n.parse::<Permission>().map_err(Into::into))
        .collect()
}

fn describe(permissions: &hearth::contacts::Permissions) -> String {
    let granted: Vec<&str> = Permission::ALL
        .into_iter()
        .filter(|p| permissions.has(*p))
        .map(Permission::name)
        .collect();
    if granted.is_empty() {
        "nothing".into()
    } else {
        granted.join(", ")
    }
}

fn print_token(ctx: &Context, contact: &Contact, secret: &str) {
    println!(
        "Added token contact {} ({}); it may: {}.",
        contact.name,
        contact.key.short(),
        describe(&contact.permissions)
    );
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
