//! `hearth share` (asks the running device to share a snapshot, photo or
//! thought, then says truthfully who has it) and `hearth inbox` (lists what
//! contacts shared with this device).

use super::Context;
use anyhow::Context as _;
use hearth::device::shares::ShareRequest;
use hearth::device::socket::{request, Request, Response, MAX_DELIVERY_WAIT_SECS};
use hearth::share::inbox::Inbox;
use hearth::share::photo_check::prepare_photo;
use hearth::share::ShareKind;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What to share.
#[derive(clap::Args)]
pub struct ShareArgs {
    /// Share the camera's current frame.
    #[arg(long, conflicts_with = "photo")]
    snapshot: bool,
    /// Share a photo from a file: a JPEG (sent as it is) or a PNG (made a
    /// JPEG of at most 2048 px and 1.5 MiB). It must decode in full.
    #[arg(long)]
    photo: Option<PathBuf>,
    /// The text (alone: a thought).
    #[arg(long, default_value = "")]
    text: String,
    /// A contact or group name (repeatable); default: every contact allowed `snapshots`.
    #[arg(long)]
    to: Vec<String>,
    /// Seconds to wait for contacts to acknowledge it before reporting who has
    /// it (0: report nothing); offline contacts get it when they next connect.
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    wait: u64,
}

/// Runs `hearth share`.
pub fn share(ctx: &Context, args: ShareArgs) -> anyhow::Result<()> {
    let (kind, photo) = match (&args.photo, args.snapshot) {
        (Some(path), _) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let max_bytes = usize::try_from(ctx.config.share.max_jpeg_bytes).unwrap_or(usize::MAX);
            let jpeg = prepare_photo(&bytes, max_bytes)
                .with_context(|| format!("{} cannot be shared", path.display()))?;
            (ShareKind::Photo, Some(hearth::keys::b64(&jpeg)))
        }
        (None, true) => (ShareKind::Snapshot, None),
        (None, false) if !args.text.trim().is_empty() => (ShareKind::Thought, None),
        (None, false) => {
            anyhow::bail!("say what to share: --snapshot, --photo FILE or --text \"…\"")
        }
    };
    let req = Request::Share(ShareRequest {
        kind,
        text: args.text,
        photo,
        to: args.to,
    });
    let runtime = tokio::runtime::Runtime::new()?;
    let receipt = match runtime.block_on(request(&ctx.data_dir, &req))? {
        Response::Shared(receipt) => receipt,
        other => anyhow::bail!("unexpected answer from the device: {other:?}"),
    };
    println!(
        "{} {} queued for {}",
        kind.name(),
        &receipt.id[..12],
        receipt.audience.join(", ")
    );
    if args.wait == 0 {
        println!("contacts that are offline get it when they next connect (`hearth status` shows the outbox)");
        return Ok(());
    }
    // One request waits a few seconds at most (the device answers within the
    // control socket's timeout); ask again until everyone has it or `--wait` is over.
    let until = Instant::now() + Duration::from_secs(args.wait);
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let ask = Request::Delivery {
            id: receipt.id.clone(),
            wait_secs: left.as_secs().clamp(1, MAX_DELIVERY_WAIT_SECS),
        };
        let report = match runtime.block_on(request(&ctx.data_dir, &ask))? {
            Response::Delivery(report) => report,
            other => anyhow::bail!("unexpected answer from the device: {other:?}"),
        };
        let settled = report.sending.is_empty() && report.offline.is_empty();
        if settled || Instant::now() + Duration::from_millis(500) >= until {
            println!("{}", report.summary());
            return Ok(());
        }
    }
}

/// What `hearth inbox` does.
#[derive(clap::Args)]
pub struct InboxArgs {
    /// Remove this share (its id, or the start of it as listed); repeatable.
    /// The only way shares leave the inbox: nothing is ever deleted by itself.
    #[arg(long, value_name = "ID")]
    remove: Vec<String>,
}

/// Runs `hearth inbox`.
pub fn inbox(ctx: &Context, args: InboxArgs) -> anyhow::Result<()> {
    let inbox = Inbox::new(&ctx.data_dir);
    if !args.remove.is_empty() {
        for id in &args.remove {
            let removed = inbox.remove(id)?;
            println!("removed {}", &removed[..12]);
        }
        let usage = inbox.usage()?;
        println!(
            "the inbox now holds {}",
            hearth::share::inbox::human_bytes(usage.bytes)
        );
        return Ok(());
    }
    let (entries, damaged) = inbox.scan()?;
    for hearth::share::inbox::Unreadable { path, reason } in &damaged {
        println!(
            "WARNING: {} is damaged and not listed: {reason}",
            path.display()
        );
    }
    let set_aside = inbox.damaged();
    if !set_aside.is_empty() {
        let names: Vec<String> = set_aside.iter().map(|p| p.display().to_string()).collect();
        println!(
            "WARNING: {} damaged share(s) set aside in {} (nothing was deleted)",
            hearth::share::damaged::count_shares(&names),
            ctx.data_dir
                .join("inbox")
                .join(hearth::share::damaged::DAMAGED_DIR)
                .display()
        );
    }
    if entries.is_empty() {
        println!("no shares received yet");
        return Ok(());
    }
    let book = hearth::contacts::ContactBook::load(&ctx.data_dir)?;
    for entry in entries {
        if let Some(problem) = inbox.photo_problem(&entry) {
            println!("WARNING: share {}: {problem}", &entry.share.id[..12]);
        }
        let body = &entry.share.body;
        let from = book
            .get(&body.author)
            .map_or_else(|| body.author.short(), |c| c.name.clone());
        let jpeg = entry
            .jpeg_path
            .map(|p| format!("  {}", p.display()))
            .unwrap_or_default();
        println!(
            "{}  {:<8} from {from}: {}{jpeg}",
            &entry.share.id[..12],
            body.kind.name(),
            body.text
        );
    }
    let usage = inbox.usage()?;
    let unfinished = match usage.unfinished {
        0 => String::new(),
        n => format!(", {n} unfinished transfer(s) included"),
    };
    println!(
        "{} in the inbox{unfinished}; `hearth inbox --remove ID` removes a share",
        hearth::share::inbox::human_bytes(usage.bytes)
    );
    Ok(())
}
