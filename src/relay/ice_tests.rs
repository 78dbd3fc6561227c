//! Unit tests of the relay's ICE servers: minting against known vectors,
//! the frame handed out, the grant rate limit on a fake clock, and settings.

use super::*;
use std::net::Ipv4Addr;

const IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

fn key(byte: u8) -> PeerKey {
    PeerKey([byte; 32])
}

fn turn_config() -> IceConfig {
    IceConfig {
        stun_urls: vec!["stun:turn.example.org:3478".into()],
        turn_urls: vec!["turn:turn.example.org:3478?transport=udp".into()],
        turn_secret: "north-pole-secret".into(),
        ..IceConfig::default()
    }
}

#[test]
fn hmac_sha1_matches_rfc_2202() {
    // RFC 2202, test case 2.
    let mac = hmac_sha1(b"Jefe", b"what do ya want for nothing?");
    assert_eq!(hex::encode(mac), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

#[test]
fn minted_credential_is_coturn_rest_api_shape() {
    // Expected password computed independently:
    // printf '1767225600:hearth' | openssl dgst -sha1 -hmac north-pole-secret -binary | base64
    let c = mint("north-pole-secret", "hearth", 1_767_225_600);
    assert_eq!(c.username, "1767225600:hearth");
    assert_eq!(c.credential, "sA/ampw07dcOdtNDkEXF254rBm4=");
    assert_ne!(mint("another-secret", "hearth", 1_767_225_600), c);
}

#[test]
fn frame_carries_stun_as_is_and_turn_with_credentials_expiring_one_ttl_later() {
    let issuer = IceIssuer::new(turn_config());
    let ServerFrame::IceServers {
        servers,
        expires_in,
    } = issuer.frame(&key(1), 1_000_000)
    else {
        panic!("not an ice_servers frame");
    };
    assert_eq!(expires_in, 3600);
    assert_eq!(servers.len(), 2);
    assert_eq!(servers[0].urls, ["stun:turn.example.org:3478"]);
    assert!(servers[0].username.is_empty() && servers[0].credential.is_empty());
    let turn = &servers[1];
    assert_eq!(turn.urls, ["turn:turn.example.org:3478?transport=udp"]);
    let expected = mint("north-pole-secret", &key(1).short(), 1_003_600);
    assert_eq!(turn.username, expected.username);
    assert_eq!(turn.credential, expected.credential);
}

#[test]
fn a_relay_without_servers_hands_out_an_empty_list() {
    let issuer = IceIssuer::new(IceConfig::default());
    assert_eq!(
        issuer.frame(&key(1), 5),
        ServerFrame::IceServers {
            servers: vec![],
            expires_in: 3600
        }
    );
}

#[test]
fn grants_allow_a_burst_then_one_per_interval_on_fake_time() {
    let config = IceConfig {
        grant_burst: 3,
        grant_interval_secs: 60,
        ..turn_config()
    };
    let mut issuer = IceIssuer::new(config);
    let t0 = Instant::now();
    for _ in 0..3 {
        assert_eq!(issuer.allow(key(1), IP, t0), Ok(()));
    }
    assert_eq!(
        issuer.allow(key(1), IP, t0),
        Err(GrantRefused {
            retry_after: Duration::from_secs(60)
        })
    );
    // A refused request does not push the next one further away.
    assert_eq!(
        issuer.allow(key(1), IP, t0 + Duration::from_secs(30)),
        Err(GrantRefused {
            retry_after: Duration::from_secs(30)
        })
    );
    assert_eq!(
        issuer.allow(key(1), IP, t0 + Duration::from_secs(60)),
        Ok(())
    );
    assert!(issuer
        .allow(key(1), IP, t0 + Duration::from_secs(61))
        .is_err());
    // After a long quiet time the whole burst is back, and no more.
    let later = t0 + Duration::from_secs(3600);
    for _ in 0..3 {
        assert_eq!(issuer.allow(key(1), IP, later), Ok(()));
    }
    assert!(issuer.allow(key(1), IP, later).is_err());
}

#[test]
fn new_keys_from_one_address_share_its_quota() {
    let config = IceConfig {
        grant_burst: 2,
        ..turn_config()
    };
    let mut issuer = IceIssuer::new(config);
    let t0 = Instant::now();
    assert_eq!(issuer.allow(key(1), IP, t0), Ok(()));
    assert_eq!(issuer.allow(key(2), IP, t0), Ok(()));
    assert!(issuer.allow(key(3), IP, t0).is_err());
    // The same address written as IPv4-mapped IPv6 is the same address.
    let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());
    assert!(issuer.allow(key(4), mapped, t0).is_err());
    let other = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    assert_eq!(issuer.allow(key(5), other, t0), Ok(()));
}

#[test]
fn limiter_forgets_requesters_that_are_back_to_a_full_burst() {
    let mut limiter = Limiter::new(1, Duration::from_secs(1));
    let t0 = Instant::now();
    for i in 0..LIMITER_PRUNE_AT as u32 {
        limiter.take(i, t0);
    }
    limiter.take(u32::MAX, t0 + Duration::from_secs(2));
    assert_eq!(limiter.full_at.len(), 1);
}

#[test]
fn settings_are_checked_and_the_secret_is_never_printed() {
    assert_eq!(IceConfig::default().validate(), Ok(()));
    assert_eq!(turn_config().validate(), Ok(()));
    let no_secret = IceConfig {
        turn_secret: String::new(),
        ..turn_config()
    };
    let err = no_secret.validate().unwrap_err().to_string();
    assert!(err.contains("turn_secret"), "{err}");
    let bad_url = IceConfig {
        turn_urls: vec!["stun:x:3478".into()],
        ..turn_config()
    };
    assert!(bad_url
        .validate()
        .unwrap_err()
        .to_string()
        .contains("turn_urls"));
    let short = IceConfig {
        credential_ttl_secs: 5,
        ..turn_config()
    };
    let err = short.validate().unwrap_err().to_string();
    assert!(err.contains("credential_ttl_secs"), "{err}");
    let shown = format!("{:?}", turn_config());
    assert!(!shown.contains("north-pole-secret"), "{shown}");
    let minted = format!("{:?}", mint("north-pole-secret", "x", 1));
    assert!(!minted.contains(&mint("north-pole-secret", "x", 1).credential));
}
