//! Data channel over a real loopback connection: text and bytes both ways, then a bulk
//! transfer that must complete in order under back-pressure.

mod support;

use hearth::peer::{DataChannelState, DataMessage, IceMode, PeerError, PeerEvent};
use std::time::Instant;
use support::peer::{data_only, negotiate, wait_for, STEP};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_and_bytes_round_trip_both_ways() {
    let (v, d) = data_only(IceMode::default(), true);
    let mut pair = negotiate(v, d).await;
    pair.viewer.wait_open("viewer").await;
    pair.device.wait_open("device").await;

    pair.viewer.peer.send_text("hello device").await.unwrap();
    pair.viewer
        .peer
        .send_bytes(&[1, 2, 3, 0, 255])
        .await
        .unwrap();
    pair.device.peer.send_text("hello viewer ✓").await.unwrap();
    pair.device.peer.send_bytes(&[9; 1000]).await.unwrap();

    let is_msg = |e: &PeerEvent| matches!(e, PeerEvent::Message(_));
    let (_, m1) = wait_for(&mut pair.device.events, STEP, "text at device", is_msg).await;
    let (_, m2) = wait_for(&mut pair.device.events, STEP, "bytes at device", is_msg).await;
    assert_eq!(
        m1,
        PeerEvent::Message(DataMessage::Text("hello device".into()))
    );
    assert_eq!(
        m2,
        PeerEvent::Message(DataMessage::Binary(vec![1, 2, 3, 0, 255]))
    );
    let (_, m3) = wait_for(&mut pair.viewer.events, STEP, "text at viewer", is_msg).await;
    let (_, m4) = wait_for(&mut pair.viewer.events, STEP, "bytes at viewer", is_msg).await;
    assert_eq!(
        m3,
        PeerEvent::Message(DataMessage::Text("hello viewer ✓".into()))
    );
    assert_eq!(m4, PeerEvent::Message(DataMessage::Binary(vec![9; 1000])));

    pair.viewer.peer.close().await.unwrap();
    assert_eq!(
        pair.viewer.peer.data_channel_state(),
        DataChannelState::Closed
    );
    assert!(matches!(
        pair.viewer.peer.send_text("too late").await,
        Err(PeerError::DataChannelClosed)
    ));
    pair.device.peer.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_transfer_completes_in_order_with_backpressure() {
    const TOTAL: usize = 20 * 1024 * 1024;
    const CHUNK: usize = 16 * 1024;

    let (v, d) = data_only(IceMode::default(), true);
    let mut pair = negotiate(v, d).await;
    pair.viewer.wait_open("viewer").await;
    assert!(matches!(
        pair.device.peer.data_channel_state(),
        DataChannelState::Open | DataChannelState::Pending
    ));

    // Each chunk is filled with a byte derived from its index, so order is checkable.
    let sender = pair.viewer.peer.clone();
    let started = Instant::now();
    let send_task = tokio::spawn(async move {
        let mut chunk = vec![0u8; CHUNK];
        for i in 0..TOTAL / CHUNK {
            chunk.fill((i % 251) as u8);
            chunk[..8].copy_from_slice(&(i as u64).to_be_bytes());
            sender
                .send_bytes(&chunk)
                .await
                .expect("send_bytes under back-pressure");
        }
        started.elapsed()
    });

    let mut received = 0usize;
    let mut next_index = 0u64;
    while received < TOTAL {
        let (_, event) = wait_for(&mut pair.device.events, STEP, "bulk data", |e| {
            matches!(e, PeerEvent::Message(_))
        })
        .await;
        let PeerEvent::Message(DataMessage::Binary(data)) = event else {
            panic!("unexpected message {event:?}");
        };
        assert_eq!(data.len(), CHUNK);
        let index = u64::from_be_bytes(data[..8].try_into().unwrap());
        assert_eq!(index, next_index, "chunks must arrive in order");
        assert!(data[8..].iter().all(|&b| b == (index % 251) as u8));
        next_index += 1;
        received += data.len();
    }
    let send_time = send_task.await.unwrap();
    let total_time = started.elapsed();
    println!(
        "bulk: {} MiB in {:?} ({:.1} MB/s); sender finished after {:?}",
        TOTAL / (1024 * 1024),
        total_time,
        TOTAL as f64 / total_time.as_secs_f64() / 1e6,
        send_time
    );
    pair.viewer.peer.close().await.unwrap();
    pair.device.peer.close().await.unwrap();
}
