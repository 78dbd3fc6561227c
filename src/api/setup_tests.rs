//! The call set-up rules on fake time: every input a set-up can meet, on
//! each side, and what comes of it.

use super::*;

const SECOND: Duration = Duration::from_secs(1);

fn times() -> SetupTimes {
    SetupTimes {
        answer_timeout: 10 * SECOND,
        has_turn: false,
    }
}

const FINGERPRINT: &str =
    "sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3B:E4:B2:8E:A9:C0:0E:B2:5C:6B:1C:2D";

fn sdp() -> String {
    format!("v=0\r\na=fingerprint:{FINGERPRINT}\r\n")
}

fn answer(video: bool, audio: bool) -> Signal {
    Signal::Answer {
        session: "s1".into(),
        sdp: sdp(),
        video,
        audio,
        denied: vec!["live_audio".into()],
    }
}

fn candidate(text: &str) -> Signal {
    Signal::Candidate {
        session: "s1".into(),
        candidate: text.into(),
        sdp_mid: Some("0".into()),
        sdp_mline_index: Some(0),
    }
}

fn bye(code: Option<EndCode>, reason: Option<&str>) -> Signal {
    Signal::Bye {
        session: "s1".into(),
        reason: reason.map(Into::into),
        code,
    }
}

fn caller(want: bool) -> (CallSetup, Instant) {
    let now = Instant::now();
    let (setup, first) = CallSetup::start(SetupSide::Caller { want }, times(), now);
    assert!(first.is_empty(), "a caller waits for the answer");
    (setup, now)
}

fn callee() -> CallSetup {
    let granted = Grant {
        video: true,
        audio: false,
        denied: vec!["live_audio".into()],
    };
    let side = SetupSide::Callee {
        offer_sdp: sdp(),
        granted,
    };
    let (mut setup, first) = CallSetup::start(side, times(), Instant::now());
    assert!(matches!(first[..], [SetupAction::SendAnswer { .. }]));
    assert!(matches!(
        setup.handle(SetupInput::AnswerSent)[..],
        [SetupAction::Connect]
    ));
    setup
}

fn failure(mut actions: Vec<SetupAction>) -> (RtcError, bool) {
    match (actions.pop(), actions.is_empty()) {
        (Some(SetupAction::Fail { error, tell }), true) => (error, tell),
        (other, _) => panic!("expected one failure, got {other:?} after {actions:?}"),
    }
}

/// Drives a connecting set-up to the end with a good certificate.
fn connect_and_verify(setup: &mut CallSetup) -> (Grant, String) {
    let verify = setup.handle(SetupInput::Connected(Ok(())));
    match &verify[..] {
        [SetupAction::Verify(fingerprint)] => assert_eq!(fingerprint, FINGERPRINT),
        other => panic!("expected the certificate check, got {other:?}"),
    }
    match setup.handle(SetupInput::Verified(true)).pop() {
        Some(SetupAction::Ready {
            granted,
            fingerprint,
        }) => (granted, fingerprint),
        other => panic!("expected ready, got {other:?}"),
    }
}

#[test]
fn a_caller_applies_the_answer_then_the_early_candidates_then_connects() {
    let (mut setup, _) = caller(true);
    assert!(setup
        .handle(SetupInput::Signal(candidate("candidate:1")))
        .is_empty());
    assert!(
        setup.handle(SetupInput::Signal(candidate(""))).is_empty(),
        "end of candidates"
    );
    let actions = setup.handle(SetupInput::Signal(answer(true, false)));
    assert!(matches!(
        &actions[..],
        [
            SetupAction::ApplyAnswer(_),
            SetupAction::AddCandidate(c),
            SetupAction::Connect
        ] if c.candidate == "candidate:1"
    ));
    assert_eq!(setup.deadline(), None, "answered: no more answer deadline");
    // Candidates while connecting are added at once.
    assert!(matches!(
        setup.handle(SetupInput::Signal(candidate("candidate:2")))[..],
        [SetupAction::AddCandidate(_)]
    ));
    let (granted, fingerprint) = connect_and_verify(&mut setup);
    assert_eq!(
        granted,
        Grant {
            video: true,
            audio: false,
            denied: vec!["live_audio".into()],
        }
    );
    assert_eq!(fingerprint, FINGERPRINT);
    assert!(setup.is_over());
    assert!(setup
        .handle(SetupInput::Signal(answer(true, true)))
        .is_empty());
}

#[test]
fn a_caller_that_did_not_ask_for_media_is_granted_none() {
    let (mut setup, _) = caller(false);
    setup.handle(SetupInput::Signal(answer(true, true)));
    let (granted, _) = connect_and_verify(&mut setup);
    assert!(!granted.video && !granted.audio);
}

#[test]
fn no_answer_by_the_deadline_gives_up_and_says_goodbye() {
    let (mut setup, start) = caller(true);
    assert_eq!(setup.deadline(), Some(start + 10 * SECOND));
    assert!(setup.timed_out(start + 9 * SECOND).is_empty());
    let actions = setup.timed_out(start + 10 * SECOND);
    let (error, tell) = failure(actions);
    assert!(matches!(error, RtcError::NoAnswer(d) if d == 10 * SECOND));
    assert!(tell);
    assert!(setup.is_over());
}

#[test]
fn a_refusal_or_a_goodbye_before_the_answer_is_not_answered() {
    let (mut setup, _) = caller(true);
    let actions = setup.handle(SetupInput::Signal(Signal::Refused {
        session: "s1".into(),
        reason: "not an approved contact of this device".into(),
        code: Some(EndCode::NotApproved),
    }));
    let (error, tell) = failure(actions);
    assert!(matches!(
        error,
        RtcError::Refused {
            code: EndCode::NotApproved,
            ..
        }
    ));
    assert!(!tell, "the contact refused: nothing to tell it");

    let (mut setup, _) = caller(true);
    let actions = setup.handle(SetupInput::Signal(bye(None, None)));
    let (error, tell) = failure(actions);
    assert!(matches!(
        error,
        RtcError::Refused {
            code: EndCode::Unknown,
            ..
        }
    ));
    assert!(!tell);
}

#[test]
fn signalling_that_stops_before_the_answer_fails_the_call() {
    let (mut setup, _) = caller(true);
    let (error, tell) = failure(setup.handle(SetupInput::SignalsClosed));
    assert!(matches!(error, RtcError::Closed(_)));
    assert!(tell);
    // After the answer, the call connects without signalling.
    let (mut setup, _) = caller(true);
    setup.handle(SetupInput::Signal(answer(true, true)));
    assert!(setup.handle(SetupInput::SignalsClosed).is_empty());
    connect_and_verify(&mut setup);
}

#[test]
fn an_answer_without_a_fingerprint_is_refused() {
    let (mut setup, _) = caller(true);
    let actions = setup.handle(SetupInput::Signal(Signal::Answer {
        session: "s1".into(),
        sdp: "v=0\r\n".into(),
        video: true,
        audio: true,
        denied: vec![],
    }));
    let (error, tell) = failure(actions);
    assert!(matches!(error, RtcError::FingerprintMismatch));
    assert!(tell);
}

#[test]
fn another_certificate_than_the_signed_one_is_refused() {
    let (mut setup, _) = caller(true);
    setup.handle(SetupInput::Signal(answer(true, true)));
    setup.handle(SetupInput::Connected(Ok(())));
    let (error, tell) = failure(setup.handle(SetupInput::Verified(false)));
    assert!(matches!(error, RtcError::FingerprintMismatch));
    assert!(tell);
    let mut setup = callee();
    setup.handle(SetupInput::Connected(Ok(())));
    let (error, _) = failure(setup.handle(SetupInput::Verified(false)));
    assert!(matches!(error, RtcError::FingerprintMismatch));
}

#[test]
fn no_path_is_said_as_such_with_what_helps() {
    let (mut setup, _) = caller(true);
    setup.handle(SetupInput::Signal(answer(true, true)));
    let no_path = PeerError::NoPath(10 * SECOND);
    let (error, tell) = failure(setup.handle(SetupInput::Connected(Err(no_path))));
    assert!(matches!(error, RtcError::NoPath { turn: false }));
    assert!(tell, "the contact learns there is no path");
    // The contact found no path first: none from here either.
    let mut setup = callee();
    let actions = setup.handle(SetupInput::Signal(bye(Some(EndCode::NoPath), None)));
    let (error, tell) = failure(actions);
    assert!(matches!(error, RtcError::NoPath { turn: false }));
    assert!(!tell);
}

#[test]
fn the_answering_side_answers_only_a_signed_offer() {
    let side = SetupSide::Callee {
        offer_sdp: "v=0\r\n".into(),
        granted: Grant::default(),
    };
    let (setup, first) = CallSetup::start(side, times(), Instant::now());
    let (error, tell) = failure(first);
    assert!(matches!(error, RtcError::FingerprintMismatch));
    assert!(tell);
    assert!(setup.is_over());
}

#[test]
fn the_answering_side_takes_trickled_candidates_and_hears_a_hang_up() {
    let mut setup = callee();
    assert!(matches!(
        setup.handle(SetupInput::Signal(candidate("candidate:1")))[..],
        [SetupAction::AddCandidate(_)]
    ));
    let actions = setup.handle(SetupInput::Signal(bye(None, None)));
    let (error, tell) = failure(actions);
    assert!(
        matches!(error, RtcError::Refused { code: EndCode::HungUp, reason } if reason == "the contact hung up")
    );
    assert!(!tell);
}

#[test]
fn the_answering_side_grants_what_it_answered() {
    let mut setup = callee();
    let (granted, fingerprint) = connect_and_verify(&mut setup);
    assert!(granted.video && !granted.audio);
    assert_eq!(fingerprint, FINGERPRINT);
}

#[test]
fn a_failure_carrying_out_an_action_fails_the_call_and_tells_the_contact() {
    let mut setup = callee();
    let (error, tell) = failure(setup.handle(SetupInput::Failed(RtcError::Closed(
        "the relay is gone".into(),
    ))));
    assert!(matches!(error, RtcError::Closed(_)));
    assert!(tell);
}

#[test]
fn a_whep_player_connects_without_signalling_or_certificate_check() {
    let granted = Grant {
        video: true,
        audio: true,
        denied: vec![],
    };
    let (mut setup, first) = CallSetup::start(
        SetupSide::Whep {
            granted: granted.clone(),
        },
        times(),
        Instant::now(),
    );
    assert!(matches!(first[..], [SetupAction::Connect]));
    assert_eq!(setup.deadline(), None);
    match setup.handle(SetupInput::Connected(Ok(()))).pop() {
        Some(SetupAction::Ready {
            granted: got,
            fingerprint,
        }) => {
            assert_eq!(got, granted);
            assert!(fingerprint.is_empty());
        }
        other => panic!("expected ready, got {other:?}"),
    }
    let (mut setup, _) = CallSetup::start(
        SetupSide::Whep {
            granted: Grant::default(),
        },
        times(),
        Instant::now(),
    );
    let timeout = PeerError::Timeout("the connection");
    let (error, tell) = failure(setup.handle(SetupInput::Connected(Err(timeout))));
    assert!(matches!(error, RtcError::Peer(_)));
    assert!(!tell, "a WHEP player has no signalling to be told on");
}

const HOST: &str = "candidate:1 1 udp 2130706431 192.168.1.20 50000 typ host";
const SRFLX: &str =
    "candidate:2 1 udp 1694498815 198.51.100.7 40000 typ srflx raddr 192.168.1.20 rport 50000";
const RELAY: &str =
    "candidate:3 1 udp 16777215 203.0.113.10 49152 typ relay raddr 198.51.100.7 rport 40000";

/// An SDP with one media section (`mid` 0) carrying these candidates.
fn sdp_with(candidates: &[&str]) -> String {
    let mut sdp = format!("v=0\r\na=fingerprint:{FINGERPRINT}\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n");
    for c in candidates {
        sdp.push_str(&format!("a={c}\r\n"));
    }
    sdp
}

/// A callee for an offer carrying `offer_candidates`, answered with an SDP
/// carrying `answer_candidates`: the offer it applies, the answer it sends,
/// and when it started.
fn callee_with(
    offer_candidates: &[&str],
    answer_candidates: &[&str],
) -> (CallSetup, String, String, Instant) {
    let side = SetupSide::Callee {
        offer_sdp: sdp_with(offer_candidates),
        granted: Grant::default(),
    };
    let now = Instant::now();
    let (mut setup, first) = CallSetup::start(side, times(), now);
    let offer = match &first[..] {
        [SetupAction::SendAnswer { offer_sdp }] => offer_sdp.clone(),
        other => panic!("expected the answer, got {other:?}"),
    };
    let answer = setup.answer_to_send(&sdp_with(answer_candidates), now);
    assert!(matches!(
        setup.handle(SetupInput::AnswerSent)[..],
        [SetupAction::Connect]
    ));
    (setup, offer, answer, now)
}

/// The device answers a browser's call, so ICE makes it the controlled side:
/// it keeps the first pair the browser nominates, and a browser nominates the
/// first pair that works — through TURN when a relay pair answers first,
/// though a direct one works too. So relay candidates, both sides', wait a
/// moment: a direct path found meanwhile wins; without one, they go.
#[test]
fn the_answering_side_holds_relay_candidates_back_for_a_moment() {
    let (mut setup, offer, answer, start) = callee_with(&[HOST, RELAY], &[HOST, SRFLX, RELAY]);
    assert!(
        offer.contains("typ host") && !offer.contains("typ relay"),
        "{offer}"
    );
    assert!(
        answer.contains("typ srflx") && !answer.contains("typ relay"),
        "{answer}"
    );
    assert!(answer.contains(&format!("a=fingerprint:{FINGERPRINT}")));
    // Trickled: a direct candidate is added at once, a relay one waits.
    assert!(matches!(
        setup.handle(SetupInput::Signal(candidate(SRFLX)))[..],
        [SetupAction::AddCandidate(_)]
    ));
    assert!(setup
        .handle(SetupInput::Signal(candidate(RELAY)))
        .is_empty());
    assert_eq!(setup.deadline(), Some(start + RELAY_HOLD));
    assert!(setup
        .timed_out(start + RELAY_HOLD - Duration::from_millis(1))
        .is_empty());

    let released = setup.timed_out(start + RELAY_HOLD);
    let sent: Vec<&IceCandidate> = released
        .iter()
        .filter_map(|a| match a {
            SetupAction::SendCandidate(c) => Some(c),
            _ => None,
        })
        .collect();
    let added: Vec<&IceCandidate> = released
        .iter()
        .filter_map(|a| match a {
            SetupAction::AddCandidate(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(released.len(), 3, "{released:?}");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].candidate, RELAY);
    assert_eq!(sent[0].sdp_mid.as_deref(), Some("0"));
    assert_eq!(sent[0].sdp_mline_index, Some(0));
    assert_eq!(added.len(), 2, "the offer's and the trickled one");
    assert!(added.iter().all(|c| c.candidate == RELAY));
    assert_eq!(setup.deadline(), None);
    // From now on relay candidates go at once.
    assert!(matches!(
        setup.handle(SetupInput::Signal(candidate(RELAY)))[..],
        [SetupAction::AddCandidate(_)]
    ));
}

#[test]
fn a_direct_path_found_first_never_sends_the_relay_candidates() {
    let (mut setup, _, _, start) = callee_with(&[HOST, RELAY], &[HOST, RELAY]);
    connect_and_verify(&mut setup);
    assert!(setup.timed_out(start + RELAY_HOLD).is_empty());
    assert_eq!(setup.deadline(), None);
}

/// With relay candidates only ("hide my address"), there is nothing to
/// prefer: this side's go at once.
#[test]
fn an_answer_with_only_relay_candidates_keeps_them() {
    let (_, _, answer, _) = callee_with(&[HOST], &[RELAY]);
    assert!(answer.contains("typ relay"), "{answer}");
}
