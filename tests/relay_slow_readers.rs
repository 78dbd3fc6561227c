//! Clients that never read must not pin the relay's memory: 30 of them are
//! sent to by 8 senders, and 10 s after the sending stops the relay's heap is
//! back within 5 MiB of idle while a well-behaved client is still served.
//! Its own test binary: the counting allocator sees only this test.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::StreamExt;
use support::raw_relay::*;
use tokio::time::{sleep, Instant};
use tokio_tungstenite::tungstenite::Message;

/// Counts the bytes currently allocated by this process.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; only a counter is kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MIB: usize = 1024 * 1024;
const SLOW: usize = 30;
const SENDERS: usize = 8;
/// Envelope payload: with base64 and JSON a frame is about 61 KiB (the cap is 64 KiB).
const PAYLOAD: usize = 46 * 1024;

fn live_mib() -> f64 {
    LIVE.load(Ordering::Relaxed) as f64 / MIB as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_are_dropped_and_their_memory_freed() -> Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let addr = spawn_relay().await?;

    // A well-behaved receiver that reads everything.
    let good_key = signer(200);
    let good = authed(addr, &good_key).await?;
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let (_good_tx, mut good_rx) = good.split();
    let good_reader = tokio::spawn(async move {
        while let Some(Ok(message)) = good_rx.next().await {
            if let Message::Text(text) = message {
                if text.as_str().contains("\"deliver\"") {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    });

    // 30 clients with a tiny receive buffer that authenticate and never read again
    // (from 127.0.0.3, senders from 127.0.0.4: each address stays under the per-address caps).
    let slow_keys: Vec<_> = (0..SLOW as u8).map(|i| signer(100 + i)).collect();
    let mut slow = Vec::new();
    for key in &slow_keys {
        let stream = tcp_from([127, 0, 0, 3], addr, Some(4096)).await?;
        slow.push(authed_on(stream, addr, key).await?.into_inner());
    }

    // Senders from 127.0.0.4, each draining its acks.
    let mut senders = Vec::new();
    let acks = Arc::new(AtomicUsize::new(0));
    for s in 0..SENDERS {
        let stream = tcp_from([127, 0, 0, 4], addr, None).await?;
        let ws = authed_on(stream, addr, &signer(1 + s as u8)).await?;
        let (tx, mut rx) = ws.split();
        let acks = acks.clone();
        tokio::spawn(async move {
            while let Some(Ok(_)) = rx.next().await {
                acks.fetch_add(1, Ordering::Relaxed);
            }
        });
        senders.push(tx);
    }
    // One frame per recipient, made once: the slow clients, then the good one.
    let payload = vec![7u8; PAYLOAD];
    let frames: Arc<Vec<String>> = Arc::new(
        slow_keys
            .iter()
            .chain([&good_key])
            .map(|to| send_frame(1, to, &payload).to_string())
            .collect(),
    );
    sleep(Duration::from_secs(1)).await;
    let idle = live_mib();
    let idle_rss = rss_kib();

    // 6 s of sending: 45 frames/s per sender (under the 50/s limit), every tenth to the good client.
    let mut tasks = Vec::new();
    for (s, mut tx) in senders.into_iter().enumerate() {
        let frames = frames.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(1000 / 45));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut to_good = 0usize;
            for n in 0..45 * 6 {
                tick.tick().await;
                let target = if n % 10 == 9 {
                    to_good += 1;
                    SLOW
                } else {
                    (n + s * 7) % SLOW
                };
                let text = frames[target].clone();
                futures_util::SinkExt::send(&mut tx, Message::text(text)).await?;
            }
            anyhow::Ok((to_good, tx))
        }));
    }
    let sending = Instant::now();
    let mut peak = idle;
    while !tasks.iter().all(|t| t.is_finished()) {
        peak = peak.max(live_mib());
        sleep(Duration::from_millis(50)).await;
    }
    let mut to_good = 0;
    let mut _senders = Vec::new();
    for task in tasks {
        let (n, tx) = task.await??;
        to_good += n;
        _senders.push(tx);
    }
    let stress_rss = rss_kib();
    eprintln!(
        "heap idle {idle:.1} MiB, peak while sending {peak:.1} MiB (RSS {idle_rss} → {stress_rss} KiB); {} acks; sending took {:?}",
        acks.load(Ordering::Relaxed),
        sending.elapsed()
    );

    sleep(Duration::from_secs(10)).await;
    let after = live_mib();
    eprintln!(
        "heap 10 s after the sending stopped: {after:.1} MiB (RSS {} KiB)",
        rss_kib()
    );

    // The well-behaved client got what was sent to it, and is still served.
    let before = received.load(Ordering::Relaxed);
    let mut last = authed(addr, &signer(250)).await?;
    send(&mut last, send_frame(1, &good_key, b"still there?")).await?;
    let ack = recv(&mut last).await?.context("closed")?;
    assert_eq!(ack["t"], "sent", "{ack}");
    let deadline = Instant::now() + WAIT;
    while received.load(Ordering::Relaxed) == before && Instant::now() < deadline {
        sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        received.load(Ordering::Relaxed),
        before + 1,
        "good client served after"
    );
    assert_eq!(before, to_good, "good client got every frame sent to it");
    assert!(
        after <= idle + 5.0,
        "relay heap {after:.1} MiB, idle was {idle:.1} MiB"
    );
    drop(slow);
    good_reader.abort();
    Ok(())
}
