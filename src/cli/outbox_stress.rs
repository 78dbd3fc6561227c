//! `hearth outbox-stress` (hidden): a test aid for the kill -9 test. Queues
//! shares for two made-up recipients and marks one recipient done, in a loop,
//! printing `queued ID` once a share is durable and `done ID` once the
//! recipient's removal is. The test kills it at random moments and checks the
//! outbox: every printed share is there whole, nothing is torn.

use super::Context;
use hearth::identity::Identity;
use hearth::share::manifest::describe_jpeg;
use hearth::share::outbox::{now_ms, Outbox, OutboxLimits};
use hearth::share::{Manifest, ShareBody, ShareKind};
use std::io::Write;

/// Runs the loop until killed.
pub fn run(ctx: &Context) -> anyhow::Result<()> {
    let identity = Identity::load_or_create(&ctx.data_dir)?;
    let limits = OutboxLimits {
        max_shares: usize::MAX,
        max_bytes: u64::MAX,
    };
    let outbox = Outbox::open(&ctx.data_dir, limits)?;
    let (a, b) = (
        Identity::generate().peer_key(),
        Identity::generate().peer_key(),
    );
    let mut out = std::io::stdout().lock();
    for n in 0u64.. {
        let jpeg: Vec<u8> = (0..20_000u64).map(|i| ((i * 31 + n) % 251) as u8).collect();
        let body = ShareBody {
            v: 1,
            author: identity.peer_key(),
            created_at: now_ms(),
            kind: ShareKind::Photo,
            text: format!("stress {n}"),
            jpeg: Some(describe_jpeg(&jpeg, hearth::share::CHUNK_SIZE)),
            audience: vec![a, b],
        };
        let share = Manifest::sign(&identity, &body)?;
        outbox.add(&share, Some(&jpeg), &[a, b])?;
        writeln!(out, "queued {}", share.id)?;
        out.flush()?;
        outbox.done(&share.id, &a)?;
        writeln!(out, "done {}", share.id)?;
        out.flush()?;
    }
    Ok(())
}
